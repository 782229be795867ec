import { pruneExpired, RETENTION_DAY_MS, type Database, type PrunedRows } from "@receipt-sync/db";
import {
  MAINTENANCE_QUEUE_NAME,
  PRUNE_JOB_NAME,
  PRUNE_SCHEDULER_ID,
  parsePruneJob,
  type RedisClient,
} from "@receipt-sync/queue";
import type { Logger } from "@receipt-sync/runtime";
import { Queue, UnrecoverableError, Worker } from "bullmq";
import type { WorkerConfig } from "./load-config.js";

type Pruner = {
  /** Stops after the statement in flight; the job's next run continues where this one stopped. */
  close: () => Promise<void>;
};

type PrunerDeps = {
  connection: RedisClient;
  db: Database;
  config: Pick<WorkerConfig, "queuePrefix" | "retention">;
  log: Logger;
  onPruned: (deleted: Partial<PrunedRows>) => void;
  onRunCompleted: () => void;
  nowMs?: () => number;
};

/**
 * With RETENTION_DAYS set, registers the prune job scheduler (every worker upserts the same
 * one, so the last started decides the interval and days) and takes its jobs. Without it,
 * removes the scheduler, so that switching retention off takes effect: set it alike on every
 * worker.
 */
export function startPruner({
  connection,
  db,
  config,
  log,
  onPruned,
  onRunCompleted,
  nowMs = Date.now,
}: PrunerDeps): Pruner {
  const queue = new Queue(MAINTENANCE_QUEUE_NAME, { connection, prefix: config.queuePrefix });
  queue.on("error", (error) => log.warn({ err: error.message }, "maintenance queue error"));
  const { retention } = config;
  // In the background: a worker starts (and serves metrics) before Redis answers, as before.
  const registered = (retention === undefined ? switchOff(queue, log) : schedule(queue, retention)).catch(
    (error: unknown) =>
      log.error(
        { err: (error as Error).message },
        "could not register the prune schedule; restart the worker to try again",
      ),
  );
  if (retention === undefined) {
    return {
      close: async () => {
        await registered;
        await queue.close();
      },
    };
  }

  const stopping = new AbortController();
  const worker = new Worker(
    MAINTENANCE_QUEUE_NAME,
    async (job) => {
      const parsed = parsePruneJob(job.data);
      if (!parsed.ok) throw new UnrecoverableError(`invalid prune job: ${parsed.error}`);
      const cutoffMs = nowMs() - parsed.value.retentionDays * RETENTION_DAY_MS;
      const startedMs = Date.now();
      const pruned = await pruneExpired(db, {
        cutoffMs,
        batchRows: retention.batchRows,
        pauseMs: retention.pauseMs,
        signal: stopping.signal,
        onBatch: onPruned,
      });
      if (!stopping.signal.aborted) onRunCompleted();
      log.info(
        {
          cutoff: new Date(cutoffMs).toISOString(),
          pruned,
          seconds: (Date.now() - startedMs) / 1000,
          stopped: stopping.signal.aborted,
        },
        "prune run ended",
      );
    },
    { connection, prefix: config.queuePrefix, concurrency: 1 },
  );
  worker.on("failed", (job, error) =>
    log.warn({ jobId: job?.id, err: error.message }, "prune run failed; the next run continues"),
  );
  worker.on("error", (error) => log.error({ err: error.message }, "maintenance worker error"));
  return {
    close: async () => {
      stopping.abort();
      await worker.close();
      await registered;
      await queue.close();
    },
  };
}

async function switchOff(queue: Queue, log: Logger): Promise<void> {
  if (await queue.removeJobScheduler(PRUNE_SCHEDULER_ID)) log.info("RETENTION_DAYS unset: pruning switched off");
}

async function schedule(queue: Queue, retention: NonNullable<WorkerConfig["retention"]>): Promise<void> {
  await queue.setGlobalConcurrency(1);
  await queue.upsertJobScheduler(
    PRUNE_SCHEDULER_ID,
    { every: retention.intervalMs },
    {
      name: PRUNE_JOB_NAME,
      data: { retentionDays: retention.days },
      opts: { removeOnComplete: 100, removeOnFail: 100 },
    },
  );
}
