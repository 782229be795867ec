import { Queue } from "bullmq";
import { fromWire, type ReceiptPacket } from "@receipt-sync/protocol";
import {
  openReceiptQueue,
  createRedis,
  isClusterUrl,
  type RedisClient,
  type ReceiptJobData,
} from "@receipt-sync/queue";
import { uniqueName } from "./databases.js";

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/**
 * A BullMQ prefix no other test run uses, so tests share one Redis without seeing each other.
 * Hash-tagged when the tests run on a cluster (`npm run test:cluster`), as the apps require.
 */
export function uniquePrefix(): string {
  const name = uniqueName("rs-test");
  return isClusterUrl(TEST_REDIS_URL) ? `{${name}}` : name;
}

/** A handle on the receipts queue under `prefix`, for looking at what the ingest stored. */
export function openQueue(prefix: string, redisUrl = TEST_REDIS_URL): Queue<ReceiptJobData> {
  const connection = createRedis(redisUrl, "worker");
  const queue = openReceiptQueue(connection, prefix);
  connections.set(queue, connection);
  return queue;
}

// BullMQ leaves a connection it was handed open on close(); the handle's owner quits it.
const connections = new WeakMap<Queue<ReceiptJobData>, RedisClient>();

/** Every packet waiting in the queue, in the order the jobs were added. */
export async function queuedPackets(queue: Queue<ReceiptJobData>): Promise<ReceiptPacket[]> {
  const jobs = await queue.getJobs(["waiting", "prioritized", "delayed", "active"], 0, -1, true);
  return jobs.flatMap((job) =>
    "rows" in job.data
      ? job.data.rows.map((row) => fromWire(row) as ReceiptPacket)
      : (job.data.packets as ReceiptPacket[]),
  );
}

/** Removes every key under `prefix` and closes the handle. */
export async function dropQueue(queue: Queue<ReceiptJobData>): Promise<void> {
  await queue.obliterate({ force: true });
  await queue.close();
  await connections.get(queue)?.quit();
}

/** Jobs under `prefix` that ran out of attempts (BullMQ's failed set). */
export async function failedJobCount(prefix: string): Promise<number> {
  const queue = openQueue(prefix);
  try {
    return (await queue.getJobCounts("failed")).failed ?? 0;
  } finally {
    await queue.close();
    await connections.get(queue)?.quit();
  }
}
