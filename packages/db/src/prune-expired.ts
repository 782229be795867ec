import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import { queryInTransaction, type Database } from "./create-database.js";
import { PRUNE_LEDGER_BATCH, PRUNE_REPAIRS_BATCH, PRUNE_SKIPS_BATCH } from "./prune-sql.js";

/** Rows deleted, by table. */
export type PrunedRows = {
  read_receipt_events: number;
  group_message_readers: number;
  group_message_receipts: number;
  reconcile_repairs: number;
  reconcile_skips: number;
};

type PruneOptions = {
  /** Rows older than this go (see prune-sql.ts for what "older" means per table). */
  cutoffMs: number;
  /** Ledger (or audit) rows taken per statement; each statement is one short transaction. */
  batchRows?: number;
  /** Rest between statements, so writers keep most of Postgres's CPU and I/O. */
  pauseMs?: number;
  /** A wait for a lock longer than this fails the statement (and the run) instead of queueing writers. */
  lockTimeoutMs?: number;
  /** Stops between two statements (shutdown). */
  signal?: AbortSignal;
  /** Told of every statement's deletions, for metrics and progress. */
  onBatch?: (deleted: Partial<PrunedRows>) => void;
};

export const RETENTION_DAY_MS = 24 * 3600_000;

/** RETENTION_DAYS, read alike by the worker's scheduled prune and `npm run prune`: unset keeps every row. */
export const envRetentionDays = z
  .string()
  .trim()
  .regex(/^[0-9]+$/, "must be a positive whole number of days")
  .transform(Number)
  .pipe(z.int().min(1))
  .optional();

/**
 * Measured (test/faults/retention.test.ts, 2 busy cores): batches of 1000 with 20 ms between
 * them pruned 62,000 rows/s but more than doubled the worker's p99 write latency; see the
 * README for the figures these defaults give.
 */
export const PRUNE_DEFAULTS = { batchRows: 500, pauseMs: 100 } as const;

type BatchRow = { candidates: number; sources: number; readers: number; receipts: number };

const PASSES = [
  { sql: PRUNE_LEDGER_BATCH, source: "read_receipt_events" },
  { sql: PRUNE_REPAIRS_BATCH, source: "reconcile_repairs" },
  { sql: PRUNE_SKIPS_BATCH, source: "reconcile_skips" },
] as const;

/**
 * Deletes everything older than the cutoff, oldest first, one small transaction at a time.
 * Safe to run twice at once or to stop anywhere: each statement is a complete, consistent step.
 */
export async function pruneExpired(db: Database, options: PruneOptions): Promise<PrunedRows> {
  const {
    cutoffMs,
    batchRows = PRUNE_DEFAULTS.batchRows,
    pauseMs = PRUNE_DEFAULTS.pauseMs,
    lockTimeoutMs = 2000,
    signal,
    onBatch,
  } = options;
  const cutoff = new Date(cutoffMs).toISOString();
  const total: PrunedRows = {
    read_receipt_events: 0,
    group_message_readers: 0,
    group_message_receipts: 0,
    reconcile_repairs: 0,
    reconcile_skips: 0,
  };
  for (const pass of PASSES) {
    while (!signal?.aborted) {
      // Through the driver adapter: Prisma Client's $transaction would connect the client.
      const rows = (await queryInTransaction(db, [
        { sql: `SET LOCAL lock_timeout = ${Math.trunc(lockTimeoutMs)}`, params: [] },
        { sql: pass.sql, params: [cutoff, String(batchRows)] },
      ])) as BatchRow[];
      const batch = rows[0]!;
      const deleted = {
        [pass.source]: batch.sources,
        group_message_readers: batch.readers,
        group_message_receipts: batch.receipts,
      };
      for (const [table, count] of Object.entries(deleted)) total[table as keyof PrunedRows] += count;
      onBatch?.(deleted);
      // Fewer candidates than asked: nothing older is left. None deleted: the rest is held by
      // writers right now and waits for the next run.
      if (batch.candidates < batchRows || batch.sources === 0) break;
      if (pauseMs > 0) await sleep(pauseMs);
    }
  }
  return total;
}
