import type { Queue } from "bullmq";

/** What an operator needs to decide about a failed job, without dumping its packets. */
type FailedJob = { id: string; failedAt: string | null; attempts: number; packets: number; reason: string };

export async function listFailed(queue: Queue, limit = 1000): Promise<FailedJob[]> {
  const jobs = await queue.getFailed(0, limit - 1);
  return jobs.map((job) => ({
    id: String(job.id),
    failedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
    attempts: job.attemptsMade,
    packets: callbackCount(job.data),
    reason: job.failedReason ?? "",
  }));
}

/**
 * Moves failed jobs (all, or those named) back to waiting with their tries reset: the worker
 * counts a job's tries by its starts (create-job-processor.ts), so a job re-driven with its
 * starts kept would give up at its first failure.
 */
export async function retryFailed(queue: Queue, ids: string[] = []): Promise<number> {
  const jobs = ids.length > 0 ? await Promise.all(ids.map((id) => queue.getJob(id))) : await queue.getFailed(0, -1);
  let retried = 0;
  for (const job of jobs) {
    if (!job || (await job.getState()) !== "failed") continue;
    await job.retry("failed", { resetAttemptsMade: true, resetAttemptsStarted: true });
    retried += 1;
  }
  return retried;
}

/** Deletes failed jobs (all, or those named); their callbacks are gone for good. */
export async function purgeFailed(queue: Queue, ids: string[] = []): Promise<number> {
  if (ids.length === 0) return (await queue.clean(0, 0, "failed")).length;
  let purged = 0;
  for (const id of ids) {
    const job = await queue.getJob(id);
    if (job && (await job.getState()) === "failed") {
      await job.remove();
      purged += 1;
    }
  }
  return purged;
}

/** The callbacks a job holds: its rows (this version's ingest) or its packets (spool lines, older ingests). */
function callbackCount(data: unknown): number {
  const { rows, packets } = (data ?? {}) as { rows?: unknown; packets?: unknown };
  if (Array.isArray(rows)) return rows.length;
  return Array.isArray(packets) ? packets.length : 0;
}
