import { MAINTENANCE_QUEUE_NAME, PRUNE_SCHEDULER_ID, createRedis } from "@receipt-sync/queue";
import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createTestDatabase,
  dropQueue,
  openQueue,
  query,
  TEST_REDIS_URL,
  type TestDatabase,
  uniquePrefix,
  waitFor,
} from "@receipt-sync/testing";
import { startWorker } from "./start-worker.js";
import { loadConfig } from "./load-config.js";

let testDb: TestDatabase;
const prefix = uniquePrefix();
const connection = createRedis(TEST_REDIS_URL, "worker");
const maintenance = new Queue(MAINTENANCE_QUEUE_NAME, { connection, prefix });

beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(async () => {
  await maintenance.obliterate({ force: true });
  await maintenance.close();
  await connection.quit();
  await dropQueue(openQueue(prefix));
  await testDb.drop();
});

const config = (env: Record<string, string>) =>
  loadConfig({
    DATABASE_URL: testDb.url,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: prefix,
    LOG_LEVEL: "silent",
    ...env,
  });

describe("retention in the worker", () => {
  it("prunes on a job scheduler when RETENTION_DAYS is set, one worker at a time", async () => {
    await query(
      testDb.url,
      `INSERT INTO group_message_receipts VALUES (1400000001, 'old', 1, 'Public', 1, 0, now() - interval '40 days', now()), (1400000001, 'new', 1, 'Public', 1, 0, now(), now());
       INSERT INTO group_message_readers VALUES (1400000001, 'old', 1, 'a', now() - interval '40 days'), (1400000001, 'new', 1, 'a', now());
       INSERT INTO read_receipt_events VALUES (1400000001, 'old', 1, now() - interval '40 days', now(), NULL, NULL), (1400000001, 'new', 1, now(), now(), NULL, NULL)`,
    );
    const worker = await startWorker(config({ RETENTION_DAYS: "30" }));
    try {
      await waitFor(
        "the old message pruned",
        async () =>
          (await query(testDb.url, "SELECT 1 FROM group_message_receipts WHERE group_id = 'old'")).length === 0,
      );
      expect(
        await query(
          testDb.url,
          "SELECT group_id FROM read_receipt_events UNION ALL SELECT group_id FROM group_message_readers",
        ),
      ).toEqual([{ group_id: "new" }, { group_id: "new" }]);
      expect(await maintenance.getJobScheduler(PRUNE_SCHEDULER_ID)).toMatchObject({ every: 3600_000 });
      expect(await maintenance.getGlobalConcurrency()).toBe(1);
    } finally {
      await worker.shutdown();
    }
  });

  it("removes the scheduler when a worker starts without RETENTION_DAYS", async () => {
    const worker = await startWorker(config({}));
    try {
      await waitFor(
        "the scheduler removed",
        async () => (await maintenance.getJobScheduler(PRUNE_SCHEDULER_ID)) === undefined,
      );
    } finally {
      await worker.shutdown();
    }
  });
});
