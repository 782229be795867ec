import { applyReceipts, type ApplyResult, type Database } from "@receipt-sync/db";
import { parseReceiptJob } from "@receipt-sync/queue";
import { UnrecoverableError, type Job } from "bullmq";

/**
 * One job is one batch of callbacks, written in one transaction. The payload is validated
 * again: a job that fails the shared schema (an older producer, a hand-made job) would fail
 * the same way on every retry, so it goes straight to the failed set instead.
 */
export function createJobProcessor(db: Database): (job: Job) => Promise<ApplyResult> {
  return async (job) => {
    const parsed = parseReceiptJob(job.data);
    if (!parsed.ok) throw new UnrecoverableError(`invalid job payload: ${parsed.error}`);
    return applyReceipts(db, parsed.value.packets);
  };
}
