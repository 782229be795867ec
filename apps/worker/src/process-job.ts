import type { ReceiptPacket } from "@receipt-sync/protocol";
import { parseReceiptJob } from "@receipt-sync/queue";
import { UnrecoverableError, type Job } from "bullmq";

/**
 * Validates a job again and hands its packets to the batch writer; the job completes when the
 * transaction holding them commits. A payload that fails the shared schema (an older
 * producer, a hand-made job) would fail the same way on every retry, so it goes straight to
 * the failed set instead.
 */
export function createJobProcessor(writeBatch: (packets: ReceiptPacket[]) => Promise<void>): (job: Job) => Promise<void> {
  return async (job) => {
    const parsed = parseReceiptJob(job.data);
    if (!parsed.ok) throw new UnrecoverableError(`invalid job payload: ${parsed.error}`);
    await writeBatch(parsed.value.packets);
  };
}
