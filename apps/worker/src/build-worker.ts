import { applyReceipts, createDatabase } from "@receipt-sync/db";
import type { ReceiptPacket } from "@receipt-sync/protocol";
import { RECEIPT_QUEUE_NAME, createRedis } from "@receipt-sync/queue";
import { GroupCommit, createLogger, createShutdown, type Logger } from "@receipt-sync/runtime";
import { Worker } from "bullmq";
import type { WorkerConfig } from "./config.js";
import { createJobProcessor } from "./process-job.js";

export type ReceiptWorker = {
  worker: Worker;
  log: Logger;
  /** Stops taking jobs, lets held batches commit, closes Redis and Postgres; true when clean. */
  shutdown: () => Promise<boolean>;
};

export function startWorker(config: WorkerConfig, log = createLogger({ name: "worker", level: config.logLevel })): ReceiptWorker {
  const db = createDatabase({ databaseUrl: config.databaseUrl, poolMax: config.writeConcurrency });
  // Jobs held at the same time are written together: one transaction for many jobs. If such a
  // transaction fails, each job is retried alone, so one bad job cannot fail its neighbours.
  const writer = new GroupCommit<ReceiptPacket[]>({
    commit: async (jobs) => void (await applyReceipts(db, jobs.flat())),
    sizeOf: (packets) => packets.length,
    maxGroupSize: config.batchPackets,
    maxConcurrentCommits: config.writeConcurrency,
    isolateFailures: true,
  });
  const connection = createRedis(config.redisUrl, "worker");
  const worker = new Worker(RECEIPT_QUEUE_NAME, createJobProcessor((packets) => writer.submit(packets)), {
    connection,
    prefix: config.queuePrefix,
    concurrency: config.concurrency,
    // A worker killed mid-batch leaves its jobs locked; once the lock lapses they are "stalled"
    // and run again elsewhere. The write is idempotent, so a job may stall many times safely.
    lockDuration: config.lockDurationMs,
    stalledInterval: config.lockDurationMs,
    maxStalledCount: 10,
  });

  worker.on("failed", (job, error) => {
    log.warn({ jobId: job?.id, attempt: job?.attemptsMade, err: error.message }, "batch failed");
  });
  worker.on("error", (error) => log.error({ err: error.message }, "worker error"));
  worker.on("ready", () => log.info({ concurrency: config.concurrency, batchPackets: config.batchPackets }, "worker ready"));

  const stepMs = config.shutdownTimeoutMs;
  const shutdown = createShutdown(
    [
      // A job still running when the deadline passes is not lost: its lock expires and
      // another worker picks it up as stalled, and the idempotent write makes that safe.
      { name: "finish held jobs", timeoutMs: stepMs, run: () => worker.close() },
      { name: "close redis", timeoutMs: stepMs, run: async () => void (await connection.quit()) },
      { name: "close database", timeoutMs: stepMs, run: () => db.$disconnect() },
    ],
    log,
  );
  return { worker, log, shutdown };
}
