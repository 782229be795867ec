/**
 * Retention, one small batch per statement. What is kept, and for how long:
 *
 * - read_receipt_events (the ledger): a row while its event_time is within the retention.
 * - reconcile_repairs, reconcile_skips (audits): a row while repaired_at / skipped_at is.
 * - A message (its group_message_receipts row and all its group_message_readers rows): while
 *   any of its events is within the retention. It goes once its counts are dated before the
 *   cutoff and none of its readers was first seen after it, all in the same statement, so a
 *   message is never left with counts and only part of its readers.
 *
 * Every message row was written by a callback (which left ledger rows) or by a repair (which
 * left an audit row), so expiry is driven by those: each batch takes the oldest ledger (or
 * repair) rows past the cutoff and checks their messages. No index on the counts or readers is
 * needed, and the hot write path gains only the ledger's event_time index (always appended
 * near its right edge).
 *
 * Locks, the trap: the worker locks counts rows, then readers rows, in primary-key order.
 * Here every row lock is taken with SKIP LOCKED, so pruning never waits for a writer; a
 * message whose counts row a writer holds is left, together with its ledger rows, for a later
 * batch. A writer can wait for a batch (a late event for a message being pruned), but only as
 * long as one batch takes, and `lock_timeout` bounds the rare wait the other way (a repair
 * holding readers without their counts row).
 */
type Source = { table: string; key: string; time: string; columns: string };

const LEDGER: Source = {
  table: "read_receipt_events",
  key: "(x.sdk_app_id, x.group_id, x.msg_seq, x.event_time) = (b.sdk_app_id, b.group_id, b.msg_seq, b.event_time)",
  time: "event_time",
  columns: "sdk_app_id, group_id, msg_seq, event_time",
};
const REPAIRS: Source = {
  table: "reconcile_repairs",
  key: "x.id = b.id",
  time: "repaired_at",
  columns: "id, sdk_app_id, group_id, msg_seq",
};

const sameMessage = (a: string, b: string) =>
  `(${a}.sdk_app_id, ${a}.group_id, ${a}.msg_seq) = (${b}.sdk_app_id, ${b}.group_id, ${b}.msg_seq)`;

/** $1 the cutoff (timestamptz), $2 the batch size. Returns one row of counts. */
function expiryStatement(source: Source): string {
  return `
  WITH batch AS (
    SELECT ${source.columns} FROM ${source.table}
     WHERE ${source.time} < $1::timestamptz ORDER BY ${source.time} LIMIT $2
       FOR UPDATE SKIP LOCKED
  ), messages AS (
    SELECT DISTINCT sdk_app_id, group_id, msg_seq FROM batch
  ), held AS (
    -- Counts rows of those messages no writer holds; expired when nothing about them is recent.
    SELECT r.sdk_app_id, r.group_id, r.msg_seq,
           r.event_time < $1::timestamptz AND NOT EXISTS (
             SELECT 1 FROM group_message_readers d WHERE ${sameMessage("d", "r")} AND d.read_at >= $1::timestamptz
           ) AS expired
      FROM group_message_receipts r JOIN messages m ON ${sameMessage("r", "m")}
     ORDER BY r.sdk_app_id, r.group_id, r.msg_seq
       FOR UPDATE OF r SKIP LOCKED
  ), orphaned AS (
    -- Messages with no counts row at all (pruned earlier; a late replay may have re-added a ledger row).
    SELECT m.* FROM messages m WHERE NOT EXISTS (SELECT 1 FROM group_message_receipts r WHERE ${sameMessage("r", "m")})
  ), settled AS (
    SELECT sdk_app_id, group_id, msg_seq FROM held UNION ALL SELECT * FROM orphaned
  ), doomed AS (
    SELECT sdk_app_id, group_id, msg_seq FROM held WHERE expired UNION ALL SELECT * FROM orphaned
  ), readers_gone AS (
    DELETE FROM group_message_readers d USING doomed x WHERE ${sameMessage("d", "x")} AND d.read_at < $1::timestamptz RETURNING 1
  ), receipts_gone AS (
    DELETE FROM group_message_receipts r USING held h WHERE h.expired AND ${sameMessage("r", "h")} RETURNING 1
  ), sources_gone AS (
    -- A source row goes only once its message is settled; one a writer held is retried later.
    DELETE FROM ${source.table} x USING batch b, settled s WHERE ${source.key} AND ${sameMessage("b", "s")} RETURNING 1
  )
  SELECT (SELECT count(*) FROM batch)::int AS candidates,
         (SELECT count(*) FROM sources_gone)::int AS sources,
         (SELECT count(*) FROM readers_gone)::int AS readers,
         (SELECT count(*) FROM receipts_gone)::int AS receipts`;
}

export const PRUNE_LEDGER_BATCH = expiryStatement(LEDGER);
export const PRUNE_REPAIRS_BATCH = expiryStatement(REPAIRS);

export const PRUNE_SKIPS_BATCH = `
  WITH batch AS (
    SELECT id FROM reconcile_skips WHERE skipped_at < $1::timestamptz ORDER BY skipped_at LIMIT $2 FOR UPDATE SKIP LOCKED
  ), gone AS (
    DELETE FROM reconcile_skips x USING batch b WHERE x.id = b.id RETURNING 1
  )
  SELECT (SELECT count(*) FROM batch)::int AS candidates, (SELECT count(*) FROM gone)::int AS sources, 0 AS readers, 0 AS receipts`;
