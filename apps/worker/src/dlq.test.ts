import { spawnSync } from "node:child_process";
import { checkedJob, RECEIPT_JOB_NAME, RECEIPT_JOB_OPTIONS, RECEIPT_QUEUE_NAME } from "@receipt-sync/queue";
import { UnrecoverableError, Worker } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  dropQueue,
  openQueue,
  receiptPacket,
  REPO_ROOT,
  TEST_REDIS_URL,
  uniquePrefix,
  waitFor,
} from "@receipt-sync/testing";

const prefix = uniquePrefix();
const queue = openQueue(prefix);

function dlq(...args: string[]) {
  const result = spawnSync(process.execPath, ["apps/worker/dist/dlq-cli.js", ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix },
    encoding: "utf8",
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

beforeAll(async () => {
  // Three jobs that fail for good, as a payload from an incompatible producer would.
  const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const failer = new Worker(
    RECEIPT_QUEUE_NAME,
    async () => Promise.reject(new UnrecoverableError("invalid job payload: test")),
    { connection, prefix },
  );
  // Two as this version's ingest builds them (rows), one as an older ingest did (packets).
  const packet = (i: number) => receiptPacket({ eventTimeMs: i, messages: [{ seq: i, read: 1, unread: 0 }] });
  for (const data of [checkedJob([packet(1), packet(2)]), checkedJob([packet(3), packet(4)]), { packets: [packet(5)] }])
    await queue.add(RECEIPT_JOB_NAME, data, RECEIPT_JOB_OPTIONS);
  await waitFor("three failed jobs", async () => (await queue.getJobCounts("failed")).failed === 3);
  await failer.close();
  await connection.quit();
});
afterAll(() => dropQueue(queue));

describe("npm run dlq", () => {
  it("lists failed jobs with their reason and size, as JSON for scripts", () => {
    const { status, stdout } = dlq("list", "--json");
    expect(status).toBe(0);
    const failed = JSON.parse(stdout) as { id: string; packets: number; reason: string; attempts: number }[];
    expect(failed).toHaveLength(3);
    expect(failed.map((job) => job.packets).sort()).toEqual([1, 2, 2]);
    expect(failed.every((job) => job.reason === "invalid job payload: test" && job.attempts === 1)).toBe(true);
  });

  it("retries one named job and then purges the rest", async () => {
    const [first] = await queue.getFailed(0, 0);
    expect(dlq("retry", String(first!.id))).toMatchObject({ status: 0, stdout: "retried 1 failed job(s)\n" });
    expect(await first!.getState()).toBe("waiting");
    expect(dlq("purge")).toMatchObject({ status: 0, stdout: "purged 2 failed job(s)\n" });
    expect(await queue.getJobCounts("failed", "waiting")).toEqual({ failed: 0, waiting: 1 });
  });

  it("explains its usage when the command is unknown", () => {
    expect(dlq("drop")).toMatchObject({ status: 2, stderr: expect.stringContaining("usage: npm run dlq --") });
  });
});
