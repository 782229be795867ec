import { afterAll, describe, expect, it } from "vitest";
import { receiptPacket } from "../../../test/support/fixtures.js";
import { dropQueue, openQueue, queuedPackets, uniquePrefix } from "../../../test/support/queues.js";
import { RECEIPT_QUEUE_NAME } from "./contract.js";
import { createRedis } from "./connection.js";
import { ReceiptProducer } from "./receipt-producer.js";
import { Queue } from "bullmq";

const queue = openQueue(uniquePrefix());
afterAll(() => dropQueue(queue));

describe("ReceiptProducer", () => {
  it("resolves each enqueue only after its packet is stored, sharing jobs under load", async () => {
    const producer = new ReceiptProducer({ queue, maxPacketsPerJob: 50, maxConcurrentAdds: 2 });
    const packets = Array.from({ length: 300 }, (_, i) => receiptPacket({ eventTimeMs: i + 1, messages: [{ seq: i, read: 1, unread: 0 }] }));
    await Promise.all(packets.map((p) => producer.enqueue(p)));

    const stored = await queuedPackets(queue);
    expect(stored.map((p) => p.receipt.EventTime).sort((a, b) => a - b)).toEqual(packets.map((p) => p.receipt.EventTime));
    const jobs = await queue.getJobCounts("waiting");
    expect(jobs.waiting).toBeGreaterThanOrEqual(6); // 300 packets, at most 50 a job
    expect(jobs.waiting).toBeLessThan(300);
    expect(producer.inFlight).toBe(0);
  });

  it("sends a lone packet at once rather than waiting for company", async () => {
    const producer = new ReceiptProducer({ queue });
    const startedMs = Date.now();
    await producer.enqueue(receiptPacket({ eventTimeMs: 1, messages: [{ seq: 1, read: 1, unread: 0 }] }));
    expect(Date.now() - startedMs).toBeLessThan(200);
  });
});

describe("ReceiptProducer with Redis unreachable", () => {
  const redis = createRedis("redis://127.0.0.1:1", "producer");
  redis.on("error", () => undefined); // refused connections are the point of this test
  const deadQueue = new Queue(RECEIPT_QUEUE_NAME, { connection: redis, prefix: uniquePrefix() });
  deadQueue.on("error", () => undefined);
  afterAll(async () => {
    await deadQueue.close();
    redis.disconnect();
  });

  it("rejects every waiting packet well inside Tencent's 2 s", async () => {
    const producer = new ReceiptProducer({ queue: deadQueue, addTimeoutMs: 300 });
    const startedMs = Date.now();
    const results = await Promise.allSettled(
      [1, 2, 3].map((i) => producer.enqueue(receiptPacket({ eventTimeMs: i, messages: [{ seq: i, read: 1, unread: 0 }] }))),
    );
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected", "rejected"]);
    expect(Date.now() - startedMs).toBeLessThan(1000);
    expect(producer.inFlight).toBe(0);
  });
});
