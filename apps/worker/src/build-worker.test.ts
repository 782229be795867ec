import { RECEIPT_JOB_NAME, RECEIPT_JOB_OPTIONS } from "@receipt-sync/queue";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, query, type TestDatabase } from "../../../test/support/databases.js";
import { receiptPacket } from "../../../test/support/fixtures.js";
import { dropQueue, openQueue, TEST_REDIS_URL, uniquePrefix } from "../../../test/support/queues.js";
import { waitFor } from "../../../test/support/wait-for.js";
import { startWorker, type ReceiptWorker } from "./build-worker.js";
import { loadConfig } from "./config.js";

let testDb: TestDatabase;
let worker: ReceiptWorker;
const prefix = uniquePrefix();
const queue = openQueue(prefix);

beforeAll(async () => {
  testDb = await createTestDatabase();
  worker = await startWorker(loadConfig({ DATABASE_URL: testDb.url, REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix, LOG_LEVEL: "silent" }));
});
afterAll(async () => {
  await worker.shutdown();
  await dropQueue(queue);
  await testDb.drop();
});

describe("worker", () => {
  it("writes a queued batch to Postgres and removes the completed job", async () => {
    const job = await queue.add(RECEIPT_JOB_NAME, { packets: [receiptPacket({ groupId: "w1", eventTimeMs: 5, messages: [{ seq: 1, read: 2, unread: 3, readers: ["a", "b"] }] })] }, RECEIPT_JOB_OPTIONS);
    const rows = await waitFor("receipt row", async () => {
      const found = await query(testDb.url, "SELECT read_num, unread_num FROM group_message_receipts WHERE group_id = 'w1'");
      return found.length > 0 && found;
    });
    expect(rows).toEqual([{ read_num: 2, unread_num: 3 }]);
    await waitFor("job removed after completion", async () => (await queue.getJob(job.id!)) === undefined);
  });

  it("fails a poison job at once, keeps it in the failed set and stores nothing", async () => {
    const poison = { packets: [{ sdkAppId: "1400000001", receipt: { GroupId: "w2", EventTime: "yesterday" } }] };
    const job = await queue.add(RECEIPT_JOB_NAME, poison as never, RECEIPT_JOB_OPTIONS);
    const failed = await waitFor("job in failed set", async () => {
      const state = await queue.getJobState(job.id!);
      return state === "failed" && (await queue.getJob(job.id!));
    });
    expect(failed.attemptsMade).toBe(1); // not retried: retrying cannot fix a bad payload
    expect(failed.failedReason).toMatch(/^invalid job payload: packets\.0\./);
    expect(await query(testDb.url, "SELECT 1 FROM group_message_receipts WHERE group_id = 'w2'")).toEqual([]);
  });
});
