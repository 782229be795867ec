import type { Database } from "./create-database.js";
import { arrayLiteral } from "./receipt-sql.js";
import { messageKey, type ReceiptState } from "./receipt-differences.js";

/** A group with receipt events in the look-back window, and the messages we hold from there on. */
export type ActiveGroup = {
  groupId: string;
  groupType: string;
  /** The newest MsgSeq we hold for the group. */
  newestSeq: number;
  /** Messages whose latest event is in the window: these are checked. */
  recentSeqs: number[];
  /** Every MsgSeq we hold from the oldest recent one up, ascending: what lies between is a gap. */
  knownSeqs: number[];
};

// Milliseconds since epoch -> timestamptz, exactly (as in receipt-sql.ts).
const FROM_MS = (param: string) => `(timestamptz 'epoch' + ${param}::bigint * interval '1 millisecond')`;

/*
 * event_time is the newest EventTime applied to the counts (or the fetch time of a repair), so a
 * message with any event in the window has event_time in the window. No index serves this scan:
 * one sequential scan per pass and app was preferred to one more index on the hottest table the
 * callback path writes.
 */
const ACTIVE_GROUPS = `
  WITH recent AS (
    SELECT group_id, min(msg_seq) AS lo FROM group_message_receipts
     WHERE sdk_app_id = $1::bigint AND event_time >= ${FROM_MS("$2")} AND ($3::text IS NULL OR group_id = $3::text)
     GROUP BY group_id)
  SELECT r.group_id, r.msg_seq::text AS msg_seq, r.group_type, r.event_time >= ${FROM_MS("$2")} AS recent
    FROM recent JOIN group_message_receipts r
      ON r.sdk_app_id = $1::bigint AND r.group_id = recent.group_id AND r.msg_seq >= recent.lo
   ORDER BY r.group_id, r.msg_seq`;

type ActiveRow = { group_id: string; msg_seq: string; group_type: string; recent: boolean };

export async function findActiveGroups(
  db: Database,
  where: { sdkAppId: string; sinceMs: number; groupId?: string },
): Promise<ActiveGroup[]> {
  const rows = await db.$queryRawUnsafe<ActiveRow[]>(
    ACTIVE_GROUPS,
    where.sdkAppId,
    String(where.sinceMs),
    where.groupId ?? null,
  );
  const groups = new Map<string, ActiveGroup>();
  for (const row of rows) {
    const seq = Number(row.msg_seq);
    let group = groups.get(row.group_id);
    if (!group) {
      group = { groupId: row.group_id, groupType: row.group_type, newestSeq: seq, recentSeqs: [], knownSeqs: [] };
      groups.set(row.group_id, group);
    }
    group.newestSeq = seq; // rows come in ascending MsgSeq
    group.knownSeqs.push(seq);
    if (row.recent) group.recentSeqs.push(seq);
  }
  return [...groups.values()];
}

/** What we hold of one group, whatever its age (for a group named by hand); undefined when nothing. */
export async function findGroupSummary(
  db: Database,
  where: { sdkAppId: string; groupId: string },
): Promise<{ groupType: string; newestSeq: number } | undefined> {
  const row = await db.groupMessageReceipt.findFirst({
    where: { sdkAppId: BigInt(where.sdkAppId), groupId: where.groupId },
    orderBy: { msgSeq: "desc" },
    select: { groupType: true, msgSeq: true },
  });
  return row ? { groupType: row.groupType, newestSeq: Number(row.msgSeq) } : undefined;
}

const STORED_RECEIPTS = `
  SELECT r.group_id, r.msg_seq::text AS msg_seq, r.read_num, r.unread_num
    FROM unnest($2::text[], $3::bigint[]) AS k(grp, seq)
    JOIN group_message_receipts r ON r.sdk_app_id = $1::bigint AND r.group_id = k.grp AND r.msg_seq = k.seq`;

const STORED_READERS = `
  SELECT m.group_id, m.msg_seq::text AS msg_seq, m.member_account
    FROM unnest($2::text[], $3::bigint[]) AS k(grp, seq)
    JOIN group_message_readers m ON m.sdk_app_id = $1::bigint AND m.group_id = k.grp AND m.msg_seq = k.seq
   ORDER BY m.member_account`;

type MessageRef = { groupId: string; msgSeq: number };

type Queryable = Pick<Database, "$queryRawUnsafe">;

/** Counts and readers we hold for `messages`, by messageKey(); absent keys have no row. */
export async function findStoredReceipts(
  db: Queryable,
  sdkAppId: string,
  messages: readonly MessageRef[],
): Promise<Map<string, ReceiptState>> {
  const stored = new Map<string, ReceiptState>();
  if (messages.length === 0) return stored;
  const params = [
    sdkAppId,
    arrayLiteral(messages.map((m) => m.groupId)),
    arrayLiteral(messages.map((m) => String(m.msgSeq))),
  ];
  const receipts = await db.$queryRawUnsafe<
    { group_id: string; msg_seq: string; read_num: number; unread_num: number }[]
  >(STORED_RECEIPTS, ...params);
  for (const r of receipts)
    stored.set(messageKey(r.group_id, Number(r.msg_seq)), {
      readNum: r.read_num,
      unreadNum: r.unread_num,
      readers: [],
    });
  const readers = await db.$queryRawUnsafe<{ group_id: string; msg_seq: string; member_account: string }[]>(
    STORED_READERS,
    ...params,
  );
  // The merge writes readers only together with their counts row, so every reader has one.
  for (const m of readers) stored.get(messageKey(m.group_id, Number(m.msg_seq)))?.readers.push(m.member_account);
  return stored;
}
