import type { Database } from "./create-database.js";
import { arrayLiteral, ReceiptColumns } from "./receipt-sql.js";
import { messageKey, receiptDifferences, type Difference, type ReceiptState } from "./receipt-differences.js";
import { findStoredReceipts } from "./reconcile-queries.js";

/** Tencent's answer for one message, to be merged into the tables like a callback. */
export type Repair = {
  groupId: string;
  msgSeq: number;
  /** Needed only when the row is missing; the merge overwrites it with what is given. */
  groupType: string;
  /** When Tencent was asked for the counts: their snapshot time, and the audit's fetched_at. */
  fetchedAtMs: number;
  /**
   * Omitted when our counts already agree (a snapshot dated now would only move event_time).
   * Required when we hold no row: readers are only ever written alongside their counts row.
   */
  counts?: { readNum: number; unreadNum: number };
  /** Every reader Tencent lists; those we already hold keep their earlier read_at. */
  readers: string[];
  /** When the readers were fetched: read_at of a reader only the API knew (default fetchedAtMs). */
  readersFetchedAtMs?: number;
};

type AppliedRepair = {
  groupId: string;
  msgSeq: number;
  differences: Difference[];
  before: ReceiptState | undefined;
  after: ReceiptState;
};

const INSERT_AUDIT = `
  INSERT INTO reconcile_repairs (sdk_app_id, group_id, msg_seq, differences, before, after, fetched_at, repaired_at)
  SELECT $1::bigint, t.grp, t.seq, string_to_array(t.diff, ','), t.before::jsonb, t.after::jsonb,
         (timestamptz 'epoch' + t.fetched_ms * interval '1 millisecond'), now()
    FROM unnest($2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::bigint[]) AS t(grp, seq, diff, before, after, fetched_ms)`;

/**
 * Merges Tencent's answers through the very statement callbacks use (receipt-sql.ts), so a
 * repair and a callback may interleave in any order and end the same: counts keep the newest
 * snapshot (a repair's is dated at the fetch, and a later callback supersedes it), readers
 * keep their earliest read_at (a reader first found by the API gets the fetch time, which an
 * earlier callback arriving later lowers).
 *
 * One transaction writes the repairs and their audit rows. The audit compares the rows just
 * before and just after the merge, so it records what the merge changed, not what we asked
 * for. "Before" is read without locking the rows: FOR UPDATE here would take the row locks out
 * of primary-key order and could deadlock with the worker; a callback that commits in between
 * shows in the audit as part of the repair.
 */
export async function applyRepairs(
  db: Database,
  sdkAppId: string,
  repairs: readonly Repair[],
): Promise<AppliedRepair[]> {
  if (repairs.length === 0) return [];
  const refs = repairs.map(({ groupId, msgSeq }) => ({ groupId, msgSeq }));
  return db.$transaction(
    async (tx) => {
      const before = await findStoredReceipts(tx, sdkAppId, refs);
      const statement = repairColumns(sdkAppId, repairs).statement();
      if (statement) await tx.$executeRawUnsafe(statement.sql, ...statement.params);
      const after = await findStoredReceipts(tx, sdkAppId, refs);

      const applied: AppliedRepair[] = [];
      const fetched: number[] = [];
      for (const repair of repairs) {
        const key = messageKey(repair.groupId, repair.msgSeq);
        const now = after.get(key);
        if (!now) continue; // nothing to write (no counts for a missing row): nothing changed
        const differences = receiptDifferences(before.get(key), now);
        if (differences.length === 0) continue;
        applied.push({
          groupId: repair.groupId,
          msgSeq: repair.msgSeq,
          differences,
          before: before.get(key),
          after: now,
        });
        fetched.push(repair.fetchedAtMs);
      }
      if (applied.length > 0) {
        await tx.$executeRawUnsafe(
          INSERT_AUDIT,
          sdkAppId,
          arrayLiteral(applied.map((a) => a.groupId)),
          arrayLiteral(applied.map((a) => String(a.msgSeq))),
          arrayLiteral(applied.map((a) => a.differences.join(","))),
          arrayLiteral(applied.map((a) => (a.before ? JSON.stringify(sorted(a.before)) : null))),
          arrayLiteral(applied.map((a) => JSON.stringify(sorted(a.after)))),
          arrayLiteral(fetched.map(String)),
        );
      }
      return applied;
    },
    { timeout: 30_000, maxWait: 10_000 },
  );
}

/** Repairs as rows of the callbacks' own statement: counts and readers, no ledger entry. */
function repairColumns(sdkAppId: string, repairs: readonly Repair[]): ReceiptColumns {
  const columns = new ReceiptColumns();
  for (const r of repairs) {
    if (r.counts)
      columns.addReceipt(
        sdkAppId,
        r.groupId,
        r.msgSeq,
        r.groupType,
        r.counts.readNum,
        r.counts.unreadNum,
        r.fetchedAtMs,
      );
    const readAtMs = r.readersFetchedAtMs ?? r.fetchedAtMs;
    columns.addReaders(sdkAppId, r.groupId, r.msgSeq, readAtMs, r.readers);
  }
  return columns;
}

function sorted(state: ReceiptState): ReceiptState {
  return { ...state, readers: [...state.readers].sort() };
}
