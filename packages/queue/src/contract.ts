import { parseWith, type ParseResult } from "@receipt-sync/protocol";
import { withTimeout } from "@receipt-sync/runtime";
import type { JobsOptions, Queue } from "bullmq";
import { z } from "zod";

/** The one queue between ingest and worker. Keys live under `${prefix}:${RECEIPT_QUEUE_NAME}:`. */
export const RECEIPT_QUEUE_NAME = "read-receipts";
export const RECEIPT_JOB_NAME = "apply-receipts";
export const DEFAULT_QUEUE_PREFIX = "receipt-sync";

/**
 * A job carries every callback that arrived while the previous enqueue was in flight. The
 * envelope is checked here; each packet is checked on its own by the worker (with the packet
 * schema the ingest used), so one packet that fails cannot take its neighbours down with it.
 */
export const receiptJobSchema = z.object({
  packets: z.array(z.unknown()).min(1),
});
export type ReceiptJobData = z.output<typeof receiptJobSchema>;

export function parseReceiptJob(data: unknown): ParseResult<ReceiptJobData> {
  return parseWith(receiptJobSchema, data);
}

/**
 * Retries outlast a Postgres outage of about an hour (1 s doubling to ~17 min between tries)
 * before a job lands in the failed set, where `npm run dlq` can re-drive it. Completed jobs
 * are dropped at once: the database, not Redis, is the record of what was applied.
 */
export const RECEIPT_JOB_OPTIONS: JobsOptions = {
  attempts: 12,
  backoff: { type: "exponential", delay: 1000 },
  removeOnComplete: true,
  removeOnFail: false,
};

/**
 * Adds one job holding `packets`; rejects if Redis has not stored it within `timeoutMs`. The
 * add is not cancelled and may still land later: harmless, the worker's writes are idempotent.
 */
export async function addReceiptJob(queue: Queue<ReceiptJobData>, packets: readonly unknown[], timeoutMs: number): Promise<void> {
  await withTimeout(queue.add(RECEIPT_JOB_NAME, { packets: packets as unknown[] }, RECEIPT_JOB_OPTIONS), timeoutMs, `Redis did not accept the job within ${timeoutMs} ms`);
}
