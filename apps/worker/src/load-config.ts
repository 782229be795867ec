import { envRetentionDays, PRUNE_DEFAULTS } from "@receipt-sync/db";
import { envQueuePrefix, envRedisUrl, resolveQueuePrefix } from "@receipt-sync/queue";
import { envLogLevel, envPort, envPositiveInt, parseEnv } from "@receipt-sync/runtime";
import { z } from "zod";

export const envSchema = z.object({
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, "must be a postgresql:// URL"),
  REDIS_URL: envRedisUrl,
  QUEUE_PREFIX: envQueuePrefix,
  WORKER_CONCURRENCY: envPositiveInt(32),
  WORKER_BATCH_PACKETS: envPositiveInt(500),
  DB_WRITE_CONCURRENCY: envPositiveInt(2),
  SHUTDOWN_TIMEOUT_MS: envPositiveInt(10_000),
  WORKER_LOCK_DURATION_MS: envPositiveInt(10_000),
  WORKER_STALLED_INTERVAL_MS: envPositiveInt(5_000),
  DB_CONNECT_TIMEOUT_MS: envPositiveInt(5_000),
  DB_STATEMENT_TIMEOUT_MS: envPositiveInt(15_000),
  DB_TRANSACTION_TIMEOUT_MS: envPositiveInt(20_000),
  // No default: unset keeps everything for ever.
  RETENTION_DAYS: envRetentionDays,
  PRUNE_INTERVAL_MS: envPositiveInt(3600_000),
  PRUNE_BATCH_ROWS: envPositiveInt(PRUNE_DEFAULTS.batchRows),
  PRUNE_PAUSE_MS: z
    .string()
    .regex(/^[0-9]+$/, "must be a whole number of milliseconds")
    .transform(Number)
    .default(PRUNE_DEFAULTS.pauseMs),
  METRICS_PORT: envPort.optional(),
  LOG_LEVEL: envLogLevel,
});

export type WorkerConfig = {
  databaseUrl: string;
  redisUrl: string;
  queuePrefix: string;
  /** Jobs (each holding one or more callbacks) a worker takes from the queue at once. */
  concurrency: number;
  /** Most callbacks written in one transaction; held jobs are merged up to this. */
  batchPackets: number;
  /** Write lanes, each owning a share of the groups with one transaction in flight (= Postgres connections). */
  writeConcurrency: number;
  shutdownTimeoutMs: number;
  /**
   * A job whose worker stops renewing its lock for this long is handed to another worker, at
   * the next stalled check (every `stalledIntervalMs`): a dead worker's jobs run elsewhere
   * within the sum. Shorter means faster take-over, but a worker whose event loop stalls
   * longer than the lock loses its jobs to another (harmless: the write is idempotent).
   */
  lockDurationMs: number;
  stalledIntervalMs: number;
  /** Deadlines for every database call (see createDatabase). */
  db: { connectTimeoutMs: number; statementTimeoutMs: number; transactionTimeoutMs: number };
  /**
   * RETENTION_DAYS: rows older than this many days are pruned (see packages/db/src/prune-sql.ts)
   * every `intervalMs`, `batchRows` ledger rows per statement with `pauseMs` between them.
   * Unset: everything is kept for ever.
   */
  retention: { days: number; intervalMs: number; batchRows: number; pauseMs: number } | undefined;
  /** Serve Prometheus metrics on this port; unset, no metrics server. */
  metricsPort: number | undefined;
  logLevel: string;
};

export function loadConfig(env: NodeJS.ProcessEnv): WorkerConfig {
  const parsed = parseEnv(envSchema, env, {
    DATABASE_URL: "e.g. postgresql://postgres@127.0.0.1:5432/receipts",
  });
  return {
    databaseUrl: parsed.DATABASE_URL,
    redisUrl: parsed.REDIS_URL,
    queuePrefix: resolveQueuePrefix(parsed.REDIS_URL, parsed.QUEUE_PREFIX),
    concurrency: parsed.WORKER_CONCURRENCY,
    batchPackets: parsed.WORKER_BATCH_PACKETS,
    writeConcurrency: parsed.DB_WRITE_CONCURRENCY,
    shutdownTimeoutMs: parsed.SHUTDOWN_TIMEOUT_MS,
    lockDurationMs: parsed.WORKER_LOCK_DURATION_MS,
    stalledIntervalMs: parsed.WORKER_STALLED_INTERVAL_MS,
    db: {
      connectTimeoutMs: parsed.DB_CONNECT_TIMEOUT_MS,
      statementTimeoutMs: parsed.DB_STATEMENT_TIMEOUT_MS,
      transactionTimeoutMs: parsed.DB_TRANSACTION_TIMEOUT_MS,
    },
    retention:
      parsed.RETENTION_DAYS === undefined
        ? undefined
        : {
            days: parsed.RETENTION_DAYS,
            intervalMs: parsed.PRUNE_INTERVAL_MS,
            batchRows: parsed.PRUNE_BATCH_ROWS,
            pauseMs: parsed.PRUNE_PAUSE_MS,
          },
    metricsPort: parsed.METRICS_PORT,
    logLevel: parsed.LOG_LEVEL,
  };
}
