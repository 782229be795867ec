import { ConfigError } from "@receipt-sync/runtime";
import { describe, expect, it } from "vitest";
import { hashTagOf, parseRedisUrl, resolveQueuePrefix } from "./redis-url.js";

describe("REDIS_URL", () => {
  it("names one Redis as ioredis reads it", () => {
    expect(parseRedisUrl("rediss://:pw@cache.internal:6380/2")).toEqual({
      ok: true,
      target: { mode: "standalone", url: "rediss://:pw@cache.internal:6380/2" },
    });
  });

  it("names a cluster by its seed nodes, with credentials and TLS", () => {
    expect(parseRedisUrl("redis-cluster://10.0.0.1:7000,10.0.0.2:7001")).toEqual({
      ok: true,
      target: {
        mode: "cluster",
        nodes: [
          { host: "10.0.0.1", port: 7000 },
          { host: "10.0.0.2", port: 7001 },
        ],
        tls: false,
      },
    });
    expect(parseRedisUrl("rediss-cluster://app:p%40ss@clustercfg.example.cache.amazonaws.com:6379/")).toEqual({
      ok: true,
      target: {
        mode: "cluster",
        nodes: [{ host: "clustercfg.example.cache.amazonaws.com", port: 6379 }],
        username: "app",
        password: "p@ss",
        tls: true,
      },
    });
    expect(parseRedisUrl("redis-cluster://:secret@[::1]:7000")).toMatchObject({
      ok: true,
      target: { nodes: [{ host: "::1", port: 7000 }], password: "secret" },
    });
  });

  it.each([
    ["localhost:6379", /must be a redis:\/\/, rediss:\/\/, redis-cluster:\/\/ or rediss-cluster:\/\/ URL/],
    ["redis-cluster://10.0.0.1", /lists "10.0.0.1" where a cluster node must be host:port/],
    ["redis-cluster://a:7000,,b:7001", /lists "" where/],
    ["redis-cluster://a:70000", /lists "a:70000"/],
  ])("refuses %s", (url, error) => {
    const parsed = parseRedisUrl(url);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? "" : parsed.error).toMatch(error);
  });
});

describe("the queue prefix", () => {
  it("finds the hash tag as Redis Cluster does: first { to the next }, not empty", () => {
    expect(hashTagOf("{receipt-sync}")).toBe("receipt-sync");
    expect(hashTagOf("prod:{rs}:x")).toBe("rs");
    expect(hashTagOf("{}rs{x}")).toBeUndefined();
    expect(hashTagOf("receipt-sync")).toBeUndefined();
  });

  it("keeps an existing plain-Redis deployment's keys, and hash-tags the default on a cluster", () => {
    expect(resolveQueuePrefix("redis://127.0.0.1:6379", undefined)).toBe("receipt-sync");
    expect(resolveQueuePrefix("redis-cluster://127.0.0.1:7000", undefined)).toBe("{receipt-sync}");
    expect(resolveQueuePrefix("redis-cluster://127.0.0.1:7000", "prod:{rs}")).toBe("prod:{rs}");
    expect(resolveQueuePrefix("redis://127.0.0.1:6379", "{rs}")).toBe("{rs}");
  });

  it("refuses an untagged prefix on a cluster, naming the fix", () => {
    expect(() => resolveQueuePrefix("redis-cluster://127.0.0.1:7000", "staging")).toThrow(ConfigError);
    expect(() => resolveQueuePrefix("redis-cluster://127.0.0.1:7000", "staging")).toThrow(
      /QUEUE_PREFIX must contain a hash tag .* \(e\.g\. \{staging\}\)/,
    );
  });
});
