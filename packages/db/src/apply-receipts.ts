import type { ReceiptPacket } from "@receipt-sync/protocol";
import { Prisma } from "./generated/prisma/client.js";
import type { Database } from "./create-client.js";
import { reduceReceipts } from "./reduce-receipts.js";

export type ApplyResult = { messages: number; readers: number; newEvents: number };

// Milliseconds since epoch -> timestamptz, exactly (no float division by 1000).
const ms = (column: Prisma.Sql) => Prisma.sql`(timestamptz 'epoch' + ${column} * interval '1 millisecond')`;

/**
 * Writes a batch of packets in one transaction with one set-based statement per table.
 *
 * Every statement is idempotent and order-independent (a join-semilattice merge): counts keep
 * the newest snapshot, readers keep their earliest read_at, the ledger keeps the first row. So
 * BullMQ's at-least-once delivery, Tencent's retries and out-of-order arrival all converge on
 * the same tables. Rows are inserted in primary-key order (ORDER BY) in every statement, and
 * the statements run in the same table order in every batch, so concurrent batches that touch
 * the same messages wait on each other instead of deadlocking.
 */
export async function applyReceipts(db: Database, packets: readonly ReceiptPacket[]): Promise<ApplyResult> {
  const { receipts, readers, events } = reduceReceipts(packets);
  if (receipts.length === 0) return { messages: 0, readers: 0, newEvents: 0 };

  const [newEvents] = await db.$transaction([
    db.$executeRaw`
      INSERT INTO read_receipt_events AS e
        (sdk_app_id, group_id, msg_seq, event_time, received_at, client_ip, opt_platform)
      SELECT t.app, t.grp, t.seq, ${ms(Prisma.sql`t.event_ms`)}, ${ms(Prisma.sql`t.received_ms`)}, t.ip, t.platform
      FROM unnest(
        ${events.map((e) => e.sdkAppId)}::bigint[], ${events.map((e) => e.groupId)}::text[],
        ${events.map((e) => String(e.msgSeq))}::bigint[], ${events.map((e) => String(e.eventTimeMs))}::bigint[],
        ${events.map((e) => String(e.receivedAtMs))}::bigint[], ${events.map((e) => e.clientIp)}::text[],
        ${events.map((e) => e.optPlatform)}::text[]
      ) AS t(app, grp, seq, event_ms, received_ms, ip, platform)
      ORDER BY t.app, t.grp, t.seq, t.event_ms
      ON CONFLICT DO NOTHING`,
    db.$executeRaw`
      INSERT INTO group_message_receipts AS r
        (sdk_app_id, group_id, msg_seq, group_type, read_num, unread_num, event_time, updated_at)
      SELECT t.app, t.grp, t.seq, t.typ, t.read_num, t.unread_num, ${ms(Prisma.sql`t.event_ms`)}, now()
      FROM unnest(
        ${receipts.map((r) => r.sdkAppId)}::bigint[], ${receipts.map((r) => r.groupId)}::text[],
        ${receipts.map((r) => String(r.msgSeq))}::bigint[], ${receipts.map((r) => r.groupType)}::text[],
        ${receipts.map((r) => r.readNum)}::int[], ${receipts.map((r) => r.unreadNum)}::int[],
        ${receipts.map((r) => String(r.eventTimeMs))}::bigint[]
      ) AS t(app, grp, seq, typ, read_num, unread_num, event_ms)
      ORDER BY t.app, t.grp, t.seq
      ON CONFLICT (sdk_app_id, group_id, msg_seq) DO UPDATE SET
        group_type = EXCLUDED.group_type,
        read_num = EXCLUDED.read_num,
        unread_num = EXCLUDED.unread_num,
        event_time = EXCLUDED.event_time,
        updated_at = EXCLUDED.updated_at
      -- Same order as isNewerSnapshot(): newer event, then more readers, then fewer unread.
      WHERE (EXCLUDED.event_time, EXCLUDED.read_num, -EXCLUDED.unread_num)
          > (r.event_time, r.read_num, -r.unread_num)`,
    db.$executeRaw`
      INSERT INTO group_message_readers AS m (sdk_app_id, group_id, msg_seq, member_account, read_at)
      SELECT t.app, t.grp, t.seq, t.account, ${ms(Prisma.sql`t.read_ms`)}
      FROM unnest(
        ${readers.map((r) => r.sdkAppId)}::bigint[], ${readers.map((r) => r.groupId)}::text[],
        ${readers.map((r) => String(r.msgSeq))}::bigint[], ${readers.map((r) => r.memberAccount)}::text[],
        ${readers.map((r) => String(r.readAtMs))}::bigint[]
      ) AS t(app, grp, seq, account, read_ms)
      ORDER BY t.app, t.grp, t.seq, t.account
      ON CONFLICT (sdk_app_id, group_id, msg_seq, member_account) DO UPDATE SET
        read_at = EXCLUDED.read_at
      WHERE EXCLUDED.read_at < m.read_at`,
  ]);
  return { messages: receipts.length, readers: readers.length, newEvents };
}
