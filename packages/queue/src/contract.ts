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

/** Longest wait between two tries of a job. */
export const MAX_RETRY_DELAY_MS = 5 * 60_000;

/**
 * The wait before try `attemptsMade + 1`: 1 s doubling per try, capped at 5 minutes, so a
 * short blip costs seconds and a long outage is probed every 5 minutes. The worker registers
 * this as BullMQ's backoff strategy.
 */
export function receiptRetryDelayMs(attemptsMade: number): number {
  return Math.min(1000 * 2 ** Math.max(0, attemptsMade - 1), MAX_RETRY_DELAY_MS);
}

/**
 * 300 tries with `receiptRetryDelayMs` between them outlast a Postgres outage of 24 h 18 min
 * (a test computes the figure) before a job lands in the failed set, where `npm run dlq` can
 * re-drive it. Completed jobs are dropped at once: the database, not Redis, is the record of
 * what was applied.
 */
export const RECEIPT_JOB_OPTIONS: JobsOptions = {
  attempts: 300,
  backoff: { type: "receipt-retry" },
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
