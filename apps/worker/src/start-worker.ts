import { applyWirePackets, createDatabase, quarantineCallbacks } from "@receipt-sync/db";
import {
  MAX_TRIES,
  RECEIPT_QUEUE_NAME,
  ReceiptJobWorker,
  openReceiptQueue,
  createRedis,
  receiptRetryDelayMs,
} from "@receipt-sync/queue";
import { createLogger, createShutdown, serveMetrics, type Logger } from "@receipt-sync/runtime";
import type { Worker } from "bullmq";
import type { WorkerConfig } from "./load-config.js";
import { BatchWriter } from "./batch-writer.js";
import { createWorkerMetrics } from "./worker-metrics.js";
import { createJobProcessor } from "./create-job-processor.js";
import { startPruner } from "./start-pruner.js";

export type ReceiptWorker = {
  worker: Worker;
  log: Logger;
  /** Stops taking jobs, lets held batches commit, closes Redis and Postgres; true when clean. */
  shutdown: () => Promise<boolean>;
};

export async function startWorker(
  config: WorkerConfig,
  log = createLogger({ name: "worker", level: config.logLevel }),
): Promise<ReceiptWorker> {
  // One connection per lane, and one for quarantine writes, so they never wait for a lane.
  const db = createDatabase({ databaseUrl: config.databaseUrl, poolMax: config.writeConcurrency + 1, ...config.db });
  const connection = createRedis(config.redisUrl, "worker");
  const queue = openReceiptQueue(connection, config.queuePrefix);
  const metrics = createWorkerMetrics(queue);
  const writer = new BatchWriter({
    lanes: config.writeConcurrency,
    maxBatchPackets: config.batchPackets,
    apply: async (packets) => void (await applyWirePackets(db, packets)),
    quarantine: async (entries) => {
      await quarantineCallbacks(db, entries);
      metrics.recordQuarantined(entries);
      for (const entry of entries)
        log.error({ reason: entry.reason, sqlState: entry.sqlState, err: entry.error }, "callback quarantined");
    },
    onTransaction: (packets, seconds, ok) => metrics.recordWrite(packets, seconds, ok),
  });
  const worker = new ReceiptJobWorker(
    RECEIPT_QUEUE_NAME,
    createJobProcessor(writer, {
      maxTries: MAX_TRIES,
      delayMs: receiptRetryDelayMs,
      onRetry: (job, error, delayMs) => {
        metrics.recordJob("retried");
        log.warn(
          { jobId: job.id, tries: job.attemptsStarted, retryInMs: delayMs, err: error.message },
          "batch failed; will retry",
        );
      },
    }),
    {
      connection,
      prefix: config.queuePrefix,
      concurrency: config.concurrency,
      // A worker killed mid-batch leaves its jobs locked; once the lock lapses they are "stalled"
      // and run again elsewhere. The write is idempotent, so a job may stall many times safely.
      lockDuration: config.lockDurationMs,
      stalledInterval: config.stalledIntervalMs,
      maxStalledCount: 10,
    },
  );

  worker.on("completed", () => metrics.recordJob("completed"));
  worker.on("failed", (job, error) => {
    const willRetry =
      job !== undefined && error.name !== "UnrecoverableError" && job.attemptsMade < (job.opts.attempts ?? 1);
    metrics.recordJob(willRetry ? "retried" : "failed");
    log.warn({ jobId: job?.id, attempt: job?.attemptsMade, willRetry, err: error.message }, "batch failed");
  });
  worker.on("error", (error) => log.error({ err: error.message }, "worker error"));
  worker.on("ready", () =>
    log.info({ concurrency: config.concurrency, batchPackets: config.batchPackets }, "worker ready"),
  );

  const pruner = startPruner({
    connection,
    db,
    config,
    log,
    onPruned: (deleted) => metrics.recordPruned(deleted),
    onRunCompleted: () => metrics.recordPruneCompleted(),
  });

  const metricsServer =
    config.metricsPort === undefined ? undefined : await serveMetrics(metrics.registry, config.metricsPort);
  const stepMs = config.shutdownTimeoutMs;
  const shutdown = createShutdown(
    [
      // A job still running when the deadline passes is not lost: its lock expires and
      // another worker picks it up as stalled, and the idempotent write makes that safe.
      // Pruning stops first: after its statement in flight, in milliseconds.
      { name: "stop pruning", timeoutMs: stepMs, run: () => pruner.close() },
      { name: "finish held jobs", timeoutMs: stepMs, run: () => worker.close() },
      {
        name: "close metrics and queue",
        timeoutMs: stepMs,
        run: async () => {
          await new Promise((resolve) => (metricsServer ? metricsServer.close(resolve) : resolve(undefined)));
          await queue.close();
        },
      },
      { name: "close redis", timeoutMs: stepMs, run: async () => void (await connection.quit()) },
      { name: "close database", timeoutMs: stepMs, run: () => db.$disconnect() },
    ],
    log,
  );
  return { worker, log, shutdown };
}
