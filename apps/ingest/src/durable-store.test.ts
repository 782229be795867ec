import { readdirSync } from "node:fs";
import { join } from "node:path";
import { createLogger, createShutdown } from "@receipt-sync/runtime";
import { afterEach, describe, expect, it } from "vitest";
import {
  dropQueue,
  openQueue,
  queuedPackets,
  receiptPacket,
  scratchDir,
  TestRedisServer,
  uniquePrefix,
  waitFor,
} from "@receipt-sync/testing";
import { openDurableStore, type DurableStore, type DurableStoreOptions } from "./durable-store.js";

const log = createLogger({ name: "durable-store-test", level: "silent" });
const packet = (i: number) =>
  receiptPacket({ groupId: `g${i}`, eventTimeMs: 1000 + i, messages: [{ seq: i, read: 1, unread: 0 }] });

type Opened = {
  store: DurableStore;
  redis: TestRedisServer;
  prefix: string;
  spoolDir: string;
  close: () => Promise<boolean>;
};
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function open(redis: TestRedisServer, timing: DurableStoreOptions["timing"] = {}): Promise<Opened> {
  const prefix = uniquePrefix();
  const spoolDir = scratchDir("durable-store");
  const store = await openDurableStore({
    redisUrl: redis.url,
    queuePrefix: prefix,
    enqueueTimeoutMs: 1000,
    spool: { dir: spoolDir, instance: "test", maxBytes: 64 * 1024 * 1024, segmentBytes: 1024 * 1024 },
    log,
    timing,
  });
  const close = createShutdown(store.shutdownSteps(5000), log);
  cleanups.push(() => redis.kill(), close);
  return { store, redis, prefix, spoolDir, close };
}

async function queued(opened: Opened): Promise<string[]> {
  const queue = openQueue(opened.prefix, opened.redis.url);
  try {
    return (await queuedPackets(queue)).map((p) => p.receipt.GroupId).sort();
  } finally {
    await dropQueue(queue);
  }
}

async function timed<T>(work: Promise<T>): Promise<{ value: T; ms: number }> {
  const startedMs = performance.now();
  const value = await work;
  return { value, ms: performance.now() - startedMs };
}

describe("the durable store", () => {
  it("treats a Redis never reached since start as down: spools at once, then re-drives once Redis answers", async () => {
    const opened = await open(await TestRedisServer.reserve());
    const { store } = opened;
    expect(store.readiness()).toEqual({ status: "degraded", queue: "unreachable", breaker: "open", spooled: 0 });
    const first = await Promise.all([1, 2, 3].map((i) => timed(store.store(packet(i)))));
    expect(first.map((r) => r.value)).toEqual(["spool", "spool", "spool"]);
    expect(Math.max(...first.map((r) => r.ms))).toBeLessThan(200); // not the 1 s enqueue timeout
    expect(store.readiness()).toMatchObject({ breaker: "open", spooled: 3 });

    await opened.redis.restart();
    await waitFor("the breaker to close and the spool to drain", () => store.readiness().status === "ready", {
      timeoutMs: 10_000,
    });
    expect(await store.store(packet(4))).toBe("queue");
    expect(await queued(opened)).toEqual(["g1", "g2", "g3", "g4"]);
  });

  it("opens after one add times out on a hung Redis, and later callbacks do not wait for it", async () => {
    const opened = await open(await TestRedisServer.start());
    const { store } = opened;
    expect(await store.store(packet(1))).toBe("queue");
    opened.redis.pause();
    try {
      const caught = await timed(store.store(packet(2)));
      expect(caught.value).toBe("spool");
      expect(caught.ms).toBeGreaterThanOrEqual(900); // the one that found out waited the enqueue timeout
      expect(store.breakerOpen()).toBe(true);
      const later = await Promise.all([3, 4, 5, 6].map((i) => timed(store.store(packet(i)))));
      expect(later.map((r) => r.value)).toEqual(["spool", "spool", "spool", "spool"]);
      expect(Math.max(...later.map((r) => r.ms))).toBeLessThan(200);
    } finally {
      opened.redis.resume();
    }
    await waitFor("the breaker to close and the spool to drain", () => store.readiness().status === "ready", {
      timeoutMs: 10_000,
    });
    const groups = await queued(opened);
    expect(new Set(groups)).toEqual(new Set(["g1", "g2", "g3", "g4", "g5", "g6"]));
  });

  it("re-drives the spool one last time at shutdown when Redis answers by then", async () => {
    // Probes far apart: only the shutdown can notice that Redis is back.
    const opened = await open(await TestRedisServer.reserve(), {
      probeIntervalMs: 600_000,
      redriveIntervalMs: 600_000,
    });
    await Promise.all([1, 2].map((i) => opened.store.store(packet(i))));
    await opened.redis.restart();
    expect(opened.store.readiness()).toMatchObject({ breaker: "open", spooled: 2 });
    expect(await opened.close()).toBe(true);
    expect(
      readdirSync(join(opened.spoolDir, "test")).filter(
        (name) => name.endsWith(".jsonl") || name.startsWith("ingest.lock"),
      ),
    ).toEqual([]);
    expect(await queued(opened)).toEqual(["g1", "g2"]);
  });
});
