import { RECEIPT_JOB_NAME, RECEIPT_JOB_OPTIONS } from "@receipt-sync/queue";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createTestDatabase,
  dropQueue,
  openQueue,
  query,
  receiptPacket,
  TEST_REDIS_URL,
  type TestDatabase,
  uniquePrefix,
  waitFor,
} from "@receipt-sync/testing";
import { startWorker, type ReceiptWorker } from "./start-worker.js";
import { loadConfig } from "./load-config.js";

let testDb: TestDatabase;
let worker: ReceiptWorker;
const prefix = uniquePrefix();
const queue = openQueue(prefix);

beforeAll(async () => {
  testDb = await createTestDatabase();
  worker = await startWorker(
    loadConfig({ DATABASE_URL: testDb.url, REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix, LOG_LEVEL: "silent" }),
  );
});
afterAll(async () => {
  await worker.shutdown();
  await dropQueue(queue);
  await testDb.drop();
});

describe("worker", () => {
  it("writes a queued batch to Postgres and removes the completed job", async () => {
    const job = await queue.add(
      RECEIPT_JOB_NAME,
      {
        packets: [
          receiptPacket({
            groupId: "w1",
            eventTimeMs: 5,
            messages: [{ seq: 1, read: 2, unread: 3, readers: ["a", "b"] }],
          }),
        ],
      },
      RECEIPT_JOB_OPTIONS,
    );
    const rows = await waitFor("receipt row", async () => {
      const found = await query(
        testDb.url,
        "SELECT read_num, unread_num FROM group_message_receipts WHERE group_id = 'w1'",
      );
      return found.length > 0 && found;
    });
    expect(rows).toEqual([{ read_num: 2, unread_num: 3 }]);
    await waitFor("job removed after completion", async () => (await queue.getJob(job.id!)) === undefined);
  });

  it("quarantines a packet that fails the schema, writes its neighbours and completes the job", async () => {
    const poison = { sdkAppId: "1400000001", receipt: { GroupId: "w2", EventTime: "yesterday" } };
    const neighbour = receiptPacket({ groupId: "w3", eventTimeMs: 6, messages: [{ seq: 1, read: 1, unread: 0 }] });
    const job = await queue.add(RECEIPT_JOB_NAME, { packets: [poison, neighbour] }, RECEIPT_JOB_OPTIONS);
    await waitFor("job removed after completion", async () => (await queue.getJob(job.id!)) === undefined);
    expect(
      await query(testDb.url, "SELECT group_id FROM group_message_receipts WHERE group_id IN ('w2', 'w3')"),
    ).toEqual([{ group_id: "w3" }]);
    const [kept] = await query<{ reason: string; error: string; payload: unknown }>(
      testDb.url,
      "SELECT reason, error, payload FROM quarantined_callbacks",
    );
    expect(kept).toMatchObject({
      reason: "invalid_payload",
      payload: poison,
      error: expect.stringContaining("receivedAtMs"),
    });
    expect(await queue.getJobCounts("failed")).toEqual({ failed: 0 });
  });

  it("quarantines a job whose envelope is not a list of packets", async () => {
    const job = await queue.add(RECEIPT_JOB_NAME, { packets: "none" } as never, RECEIPT_JOB_OPTIONS);
    await waitFor("job removed after completion", async () => (await queue.getJob(job.id!)) === undefined);
    const rows = await query<{ error: string }>(
      testDb.url,
      'SELECT error FROM quarantined_callbacks WHERE payload = \'{"packets":"none"}\'::jsonb',
    );
    expect(rows).toEqual([{ error: expect.stringContaining(`job ${job.id}: packets`) }]);
  });
});
