import { hostname } from "node:os";
import { ConfigError } from "@receipt-sync/runtime";
import { describe, expect, it } from "vitest";
import { loadConfig } from "./load-config.js";

describe("ingest loadConfig", () => {
  it("applies the documented defaults", () => {
    const config = loadConfig({ SDKAPPID: "1400000001" });
    expect(config).toMatchObject({
      sdkAppIds: new Set(["1400000001"]),
      callbackToken: undefined,
      port: 3000,
      callbackPath: "/callback",
      redisUrl: "redis://127.0.0.1:6379",
      queuePrefix: "receipt-sync",
      bodyLimitBytes: 1024 * 1024,
    });
  });

  it("spools into SPOOL_DIR/INGEST_INSTANCE, the instance being the hostname unless set", () => {
    expect(loadConfig({ SDKAPPID: "1" })).toMatchObject({ spoolDir: "spool", instance: hostname() });
    expect(loadConfig({ SDKAPPID: "1", SPOOL_DIR: "/data", INGEST_INSTANCE: "ingest-2.eu_1" })).toMatchObject({
      spoolDir: "/data",
      instance: "ingest-2.eu_1",
    });
  });

  it("reads a comma-separated list of SDKAppIDs and the optional token", () => {
    const config = loadConfig({ SDKAPPID: " 1400000001, 1400000002 ,", CALLBACK_TOKEN: "s3cret", PORT: "8080" });
    expect([...config.sdkAppIds]).toEqual(["1400000001", "1400000002"]);
    expect(config.callbackToken).toBe("s3cret");
    expect(config.port).toBe(8080);
  });

  it("reads the admin port, the source allowlist and the proxy hops", () => {
    const config = loadConfig({
      SDKAPPID: "1",
      ADMIN_PORT: "9466",
      ALLOWED_SOURCE_CIDRS: "203.0.113.0/24, 2001:db8::/32,198.51.100.7",
      TRUST_PROXY: "2",
    });
    expect(config).toMatchObject({ adminPort: 9466, trustProxyHops: 2 });
    const allowed = (address: string, family: "ipv4" | "ipv6") => config.allowedSources!.check(address, family);
    expect([
      allowed("203.0.113.200", "ipv4"),
      allowed("2001:db8:1::1", "ipv6"),
      allowed("198.51.100.7", "ipv4"),
      allowed("198.51.100.8", "ipv4"),
    ]).toEqual([true, true, true, false]);
    expect(loadConfig({ SDKAPPID: "1" })).toMatchObject({
      adminPort: undefined,
      allowedSources: undefined,
      trustProxyHops: 0,
    });
  });

  it.each([
    [{}, /^config error: SDKAPPID is required \(set it to your app's SDKAppID/],
    [{ SDKAPPID: "" }, /^config error: SDKAPPID is required/],
    [{ SDKAPPID: "abc" }, /^config error: SDKAPPID must list numeric SDKAppIDs/],
    [{ SDKAPPID: "1", PORT: "http" }, /^config error: PORT must be a positive whole number/],
    [{ SDKAPPID: "1", PORT: "70000" }, /^config error: PORT /],
    [
      { SDKAPPID: "1", REDIS_URL: "localhost:6379" },
      /^config error: REDIS_URL must be a redis:\/\/, rediss:\/\/, redis-cluster:\/\/ or rediss-cluster:\/\/ URL/,
    ],
    [
      { SDKAPPID: "1", REDIS_URL: "redis-cluster://127.0.0.1:7000", QUEUE_PREFIX: "rs" },
      /^config error: QUEUE_PREFIX must contain a hash tag/,
    ],
    [{ SDKAPPID: "1", CALLBACK_PATH: "callback" }, /^config error: CALLBACK_PATH must be a path starting with \//],
    [{ SDKAPPID: "1", ADMIN_USER: "ops" }, /^config error: ADMIN_PASSWORD is required when ADMIN_USER is set/],
    [{ SDKAPPID: "1", ADMIN_PASSWORD: "pw" }, /^config error: ADMIN_USER is required when ADMIN_PASSWORD is set/],
    [
      { SDKAPPID: "1", ADMIN_USER: "ops", ADMIN_PASSWORD: "pw" },
      /^config error: ADMIN_PORT is required when ADMIN_USER and ADMIN_PASSWORD are set/,
    ],
    [{ SDKAPPID: "1", ADMIN_PORT: "3000" }, /^config error: ADMIN_PORT must differ from PORT/],
    [
      { SDKAPPID: "1", ALLOWED_SOURCE_CIDRS: "203.0.113.0/33" },
      /^config error: ALLOWED_SOURCE_CIDRS "203.0.113.0\/33" is not an IPv4 or IPv6 CIDR/,
    ],
    [{ SDKAPPID: "1", ALLOWED_SOURCE_CIDRS: "tencent" }, /^config error: ALLOWED_SOURCE_CIDRS "tencent" is not/],
    [{ SDKAPPID: "1", TRUST_PROXY: "true" }, /^config error: TRUST_PROXY must be a number of proxy hops/],
    ...["..", "a/b", ".hidden", "-x", "x".repeat(129)].map((name): [Record<string, string>, RegExp] => [
      { SDKAPPID: "1", INGEST_INSTANCE: name },
      /^config error: INGEST_INSTANCE must be letters, digits, '.', '_' and '-'/,
    ]),
  ])("stops with one line naming the variable for %j", (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});
