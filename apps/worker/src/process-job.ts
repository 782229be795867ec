import type { QuarantineEntry } from "@receipt-sync/db";
import { parseReceiptPacket, type ReceiptPacket } from "@receipt-sync/protocol";
import { parseReceiptJob } from "@receipt-sync/queue";
import type { Job } from "bullmq";

export type JobWriter = {
  /** Resolves once every packet is applied or quarantined; rejects when the job should be retried. */
  write: (packets: readonly ReceiptPacket[]) => Promise<void>;
  quarantine: (entries: QuarantineEntry[]) => Promise<void>;
};

/**
 * Checks each packet of a job with the schema the ingest used and hands the valid ones to the
 * batch writer. A packet that fails the schema (an older or foreign producer, a hand-made job,
 * an unreadable spool line) would fail the same way on every retry: it is quarantined, and the
 * rest of the job is written. The job completes once every packet is written or quarantined,
 * so the failed set only holds jobs that ran out of retries for transient reasons.
 */
export function createJobProcessor(writer: JobWriter): (job: Job) => Promise<void> {
  return async (job) => {
    const envelope = parseReceiptJob(job.data);
    if (!envelope.ok) {
      await writer.quarantine([{ raw: job.data, reason: "invalid_payload", error: `job ${job.id}: ${envelope.error}`, sqlState: null }]);
      return;
    }
    const valid: ReceiptPacket[] = [];
    const invalid: QuarantineEntry[] = [];
    for (const raw of envelope.value.packets) {
      const parsed = parseReceiptPacket(raw);
      if (parsed.ok) valid.push(parsed.value);
      else invalid.push({ raw, reason: "invalid_payload", error: parsed.error, sqlState: null });
    }
    if (invalid.length > 0) await writer.quarantine(invalid);
    if (valid.length > 0) await writer.write(valid);
  };
}
