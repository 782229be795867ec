import { sqlStateOf } from "@receipt-sync/db";

/**
 * What a failed write means for the callbacks in it:
 * - transient: the database, not the data, failed (a lost connection, a serialization failure
 *   or deadlock, an overloaded or restarting server, no pooled connection free in time, a
 *   missing table or grant). Retrying the same batch later can succeed: the job is retried.
 * - timeout: the transaction ran out of time (statement_timeout, Prisma's transaction
 *   timeout). The batch may simply be too big for the deadline, so it is split and its halves
 *   tried; a single callback that times out is retried later, never quarantined.
 * - data: Postgres refused the data itself (SQLSTATE classes 21, 22, 23). Retrying cannot
 *   help; the culprit is found by bisection and quarantined.
 * - unknown: anything else (e.g. XX002, a corrupted index). Bisected like data, but a callback
 *   is quarantined only if the error recurs for it alone while others in the batch commit:
 *   when nothing commits, the fault is the server's and the job is retried instead.
 */
type FailureKind = "transient" | "timeout" | "data" | "unknown";

export type ClassifiedFailure = { kind: FailureKind; sqlState: string | null; error: Error };

// 08 connection, 40 rollback (40001 serialization, 40P01 deadlock), 53 resources (53300 too
// many connections), 57 operator intervention (57P01 shutdown), 58 system I/O, 55 object state
// (55P03 lock timeout), 25 transaction state (25P03 idle timeout), 28 authorization, 3D/3F
// missing database or schema, 42 missing table, column or grant, and 0A feature not
// supported: each says something about the server or its set-up, not the row.
const TRANSIENT_CLASSES = new Set(["08", "40", "53", "57", "58", "55", "25", "28", "3D", "3F", "42", "0A", "HV"]);
const DATA_CLASSES = new Set(["21", "22", "23"]);
const STATEMENT_TIMEOUT = "57014";

export function classifyDbError(error: unknown): ClassifiedFailure {
  const asError = error instanceof Error ? error : new Error(String(error));
  const sqlState = sqlStateOf(error);
  if (sqlState === STATEMENT_TIMEOUT || isExpiredTransaction(error))
    return { kind: "timeout", sqlState, error: asError };
  // No SQLSTATE means Postgres never answered: the connection broke or no connection was free.
  if (sqlState === null) return { kind: "transient", sqlState, error: asError };
  const sqlClass = sqlState.slice(0, 2);
  if (TRANSIENT_CLASSES.has(sqlClass)) return { kind: "transient", sqlState, error: asError };
  if (DATA_CLASSES.has(sqlClass)) return { kind: "data", sqlState, error: asError };
  return { kind: "unknown", sqlState, error: asError };
}

/** Prisma's P2028 means two things: no connection free in time (transient), or a transaction past its timeout. */
function isExpiredTransaction(error: unknown): boolean {
  const { code, message } = error as { code?: unknown; message?: unknown };
  return (
    code === "P2028" && typeof message === "string" && /expired transaction|timeout for this transaction/i.test(message)
  );
}
