import type { ReceiptPacket } from "@receipt-sync/protocol";
import { createLogger, createShutdown } from "@receipt-sync/runtime";
import { scratchDir } from "@receipt-sync/testing";
import { openDurableStore } from "../../apps/ingest/src/durable-store.js";

/**
 * Puts `packets` into the queue as the ingest does (durable-store.ts: group commit into jobs of
 * up to 100), all submitted at once; resolves with the milliseconds it took. The enqueue timeout
 * is generous because the last of a hundred thousand callbacks submitted together waits for a
 * thousand adds, which the ingest would count as a slow Redis. Fails if any packet went to the
 * spool instead of the queue.
 */
export async function fillQueue(redisUrl: string, prefix: string, packets: readonly ReceiptPacket[]): Promise<number> {
  const log = createLogger({ name: "bench-fill", level: "warn" });
  const spool = {
    dir: scratchDir("bench-spool"),
    instance: "bench",
    maxBytes: 1024 ** 3,
    segmentBytes: 16 * 1024 ** 2,
  };
  const store = await openDurableStore({ redisUrl, queuePrefix: prefix, enqueueTimeoutMs: 120_000, spool, log });
  try {
    const startedMs = performance.now();
    const storedIn = await Promise.all(packets.map((p) => store.store(p)));
    const spooled = storedIn.filter((where) => where !== "queue").length;
    if (spooled > 0)
      throw new Error(`${spooled} packets went to the spool instead of the queue: Redis refused or timed out`);
    return performance.now() - startedMs;
  } finally {
    await createShutdown(store.shutdownSteps(10_000), log)();
  }
}
