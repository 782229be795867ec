import { sqlStateOf } from "@receipt-sync/db";

/**
 * What a failed write means for the callbacks in it:
 * - transient: the database, not the data, failed (a lost connection, a timeout, a
 *   serialization failure or deadlock, an overloaded or restarting server, a missing table or
 *   grant). Retrying the same batch later can succeed, so the job is retried.
 * - data: Postgres refused the data itself (SQLSTATE classes 21, 22, 23). Retrying cannot
 *   help; the culprit is found by bisection and quarantined.
 * - unknown: anything else. Bisected like data, but a callback is quarantined only when the
 *   error recurs for it alone.
 */
export type FailureKind = "transient" | "data" | "unknown";

export type ClassifiedFailure = { kind: FailureKind; sqlState: string | null; error: Error };

// 08 connection, 40 rollback (40001 serialization, 40P01 deadlock), 53 resources (53300 too
// many connections), 57 operator intervention (57P01 shutdown, 57014 statement timeout), 58
// system I/O, 55 object state (55P03 lock timeout), 25 transaction state (25P03 idle timeout),
// 28 authorization, 3D/3F missing database or schema, 42 missing table, column or grant, and
// 0A feature not supported: each says something about the server or its set-up, not the row.
const TRANSIENT_CLASSES = new Set(["08", "40", "53", "57", "58", "55", "25", "28", "3D", "3F", "42", "0A", "HV"]);
const DATA_CLASSES = new Set(["21", "22", "23"]);

export function classifyDbError(error: unknown): ClassifiedFailure {
  const asError = error instanceof Error ? error : new Error(String(error));
  const sqlState = sqlStateOf(error);
  // No SQLSTATE means Postgres never answered: the connection broke or a deadline passed.
  if (sqlState === null) return { kind: "transient", sqlState, error: asError };
  const sqlClass = sqlState.slice(0, 2);
  if (TRANSIENT_CLASSES.has(sqlClass)) return { kind: "transient", sqlState, error: asError };
  if (DATA_CLASSES.has(sqlClass)) return { kind: "data", sqlState, error: asError };
  return { kind: "unknown", sqlState, error: asError };
}
