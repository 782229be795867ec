import { applyReceipts, createDatabase, splitByLane } from "@receipt-sync/db";
import type { ReceiptPacket } from "@receipt-sync/protocol";
import { RECEIPT_QUEUE_NAME, createRedis } from "@receipt-sync/queue";
import { GroupCommit, createLogger, createShutdown, secondsSince, type Logger } from "@receipt-sync/runtime";
import { Queue, Worker } from "bullmq";
import type { WorkerConfig } from "./config.js";
import { createWorkerMetrics, serveMetrics } from "./metrics.js";
import { createJobProcessor } from "./process-job.js";

export type ReceiptWorker = {
  worker: Worker;
  log: Logger;
  /** Stops taking jobs, lets held batches commit, closes Redis and Postgres; true when clean. */
  shutdown: () => Promise<boolean>;
};

export async function startWorker(config: WorkerConfig, log = createLogger({ name: "worker", level: config.logLevel })): Promise<ReceiptWorker> {
  const db = createDatabase({ databaseUrl: config.databaseUrl, poolMax: config.writeConcurrency });
  const connection = createRedis(config.redisUrl, "worker");
  const queue = new Queue(RECEIPT_QUEUE_NAME, { connection, prefix: config.queuePrefix });
  const metrics = createWorkerMetrics(queue);
  // Jobs held at the same time are written together: one transaction for many jobs. Each
  // lane owns a share of the groups and has one transaction in flight, so the lanes' writes
  // never wait on each other's row locks. If a transaction fails, each job's share is retried
  // alone, so one bad job cannot fail its neighbours.
  const lanes = Array.from(
    { length: config.writeConcurrency },
    () =>
      new GroupCommit<ReceiptPacket[]>({
        commit: async (jobs) => {
          const packets = jobs.flat();
          const startedAt = process.hrtime.bigint();
          let ok = false;
          try {
            await applyReceipts(db, packets);
            ok = true;
          } finally {
            metrics.recordWrite(packets, secondsSince(startedAt), ok);
          }
        },
        sizeOf: (packets) => packets.length,
        maxGroupSize: config.batchPackets,
        maxConcurrentCommits: 1,
        isolateFailures: true,
      }),
  );
  // A job is done when every lane holding a share of it has committed that share. Shares that
  // committed before another share failed are written again on retry, which is harmless.
  const writeJob = async (packets: ReceiptPacket[]) => {
    const shares = [...splitByLane(packets, lanes.length)].map(([lane, share]) => lanes[lane]!.submit(share));
    const failed = (await Promise.allSettled(shares)).find((s) => s.status === "rejected");
    if (failed) throw failed.reason;
  };
  const worker = new Worker(RECEIPT_QUEUE_NAME, createJobProcessor(writeJob), {
    connection,
    prefix: config.queuePrefix,
    concurrency: config.concurrency,
    // A worker killed mid-batch leaves its jobs locked; once the lock lapses they are "stalled"
    // and run again elsewhere. The write is idempotent, so a job may stall many times safely.
    lockDuration: config.lockDurationMs,
    stalledInterval: config.lockDurationMs,
    maxStalledCount: 10,
  });

  worker.on("completed", () => metrics.recordJob("completed"));
  worker.on("failed", (job, error) => {
    const willRetry = job !== undefined && error.name !== "UnrecoverableError" && job.attemptsMade < (job.opts.attempts ?? 1);
    metrics.recordJob(willRetry ? "retried" : "failed");
    log.warn({ jobId: job?.id, attempt: job?.attemptsMade, willRetry, err: error.message }, "batch failed");
  });
  worker.on("error", (error) => log.error({ err: error.message }, "worker error"));
  worker.on("ready", () => log.info({ concurrency: config.concurrency, batchPackets: config.batchPackets }, "worker ready"));

  const metricsServer = config.metricsPort === undefined ? undefined : await serveMetrics(metrics.registry, config.metricsPort);
  const stepMs = config.shutdownTimeoutMs;
  const shutdown = createShutdown(
    [
      // A job still running when the deadline passes is not lost: its lock expires and
      // another worker picks it up as stalled, and the idempotent write makes that safe.
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
