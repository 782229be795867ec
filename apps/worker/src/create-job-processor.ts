import type { QuarantineEntry } from "@receipt-sync/db";
import { fromWire, parseReceiptPacket, toWire, type WirePacket } from "@receipt-sync/protocol";
import { MAX_TRIES, parseReceiptJob, receiptRetryDelayMs, stampHeldOnStore, trustedPackets } from "@receipt-sync/queue";
import { DelayedError, UnrecoverableError, type Job } from "bullmq";

export type JobWriter = {
  /** Resolves once every packet is applied or quarantined; rejects when the job should be retried. */
  write: (packets: readonly WirePacket[]) => Promise<void>;
  quarantine: (entries: QuarantineEntry[]) => Promise<void>;
};

type RetryPolicy = {
  maxTries: number;
  delayMs: (triesMade: number) => number;
  /** Told of each retry scheduled (metrics, logs). */
  onRetry?: (job: Job, error: Error, delayMs: number) => void;
};

/**
 * A job whose write failed for a transient reason is tried again on our own schedule (see
 * receiptRetryDelayMs), counted by the job's starts, whatever options the job was added with:
 * jobs queued by an older version (12 tries, uncapped backoff) get the same 24 hours as new
 * ones. After the last try it goes to the failed set, for `npm run dlq`.
 */
const DEFAULT_RETRY: RetryPolicy = { maxTries: MAX_TRIES, delayMs: receiptRetryDelayMs };

/**
 * Hands a job's packets to the batch writer. Rows of a job whose stamp is this schema
 * version's and matches them (trustedPackets) are taken as they are: parsing is idempotent, so
 * a second parse would return them unchanged, and it cost the worker more CPU per packet than
 * checking the stamp. Every other callback is checked with the schema on its own. One that fails
 * (an older or foreign producer, a job made or edited by hand, an unreadable spool line) would
 * fail the same way on every retry: it is quarantined, and the rest of the job is written. The
 * job completes once every packet is written or quarantined, so the failed set only holds jobs
 * that ran out of retries for transient reasons. A write that fails, to the receipts or to the
 * quarantine alike, is retried on the schedule above.
 */
export function createJobProcessor(
  writer: JobWriter,
  retry: RetryPolicy = DEFAULT_RETRY,
): (job: Job, token?: string) => Promise<void> {
  return async (job, token) => {
    try {
      await applyJob(job, writer);
    } catch (error) {
      const cause = error instanceof Error ? error : new Error(String(error));
      const triesMade = job.attemptsStarted;
      if (triesMade >= retry.maxTries)
        throw new UnrecoverableError(`gave up after ${triesMade} tries: ${cause.message}`);
      const delayMs = retry.delayMs(triesMade);
      await job.moveToDelayed(Date.now() + delayMs, token);
      retry.onRetry?.(job, cause, delayMs);
      throw new DelayedError();
    }
  };
}

/** Writes every packet of `job` or quarantines it; rejects when the job should be tried again. */
async function applyJob(job: Job, writer: JobWriter): Promise<void> {
  const envelope = parseReceiptJob(job.data);
  if (!envelope.ok) {
    await writer.quarantine([
      { raw: job.data, reason: "invalid_payload", error: `job ${job.id}: ${envelope.error}`, sqlState: null },
    ]);
    return;
  }
  const data = envelope.value;
  const valid =
    trustedPackets(data, stampHeldOnStore(job)) ??
    (await checkEach("rows" in data ? data.rows.map(fromWire) : data.packets, writer));
  if (valid.length > 0) await writer.write(valid);
}

/** The packets that pass the schema; the others are quarantined. */
async function checkEach(values: readonly unknown[], writer: JobWriter): Promise<WirePacket[]> {
  const valid: WirePacket[] = [];
  const invalid: QuarantineEntry[] = [];
  for (const raw of values) {
    const parsed = parseReceiptPacket(raw);
    if (parsed.ok) valid.push(toWire(parsed.value));
    else invalid.push({ raw, reason: "invalid_payload", error: parsed.error, sqlState: null });
  }
  if (invalid.length > 0) await writer.quarantine(invalid);
  return valid;
}
