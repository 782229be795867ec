import type { ReceiptRows } from "./reduce-receipts.js";

/**
 * The three statements that write a batch, as plain parameterised SQL so that Prisma
 * (`$executeRawUnsafe`, still bound parameters) and the benchmark's raw `pg` ceiling run
 * exactly the same text. Each takes whole columns as arrays and unnests them: one statement
 * per table per batch, however many rows.
 *
 * Every statement is an idempotent, order-independent merge: counts keep the newest snapshot,
 * readers keep their earliest read_at, the ledger keeps its first row. Rows are inserted in
 * primary-key order (ORDER BY) and the statements always run in this order, so concurrent
 * batches touching the same messages wait for each other instead of deadlocking.
 *
 * Each column travels as one text parameter holding a Postgres array literal, cast back to its
 * array type in SQL. Postgres parses the very literal node-postgres would have built from a JS
 * array, but Prisma handles one string where it would walk thousands of elements: the worker
 * spends about a sixth less CPU per packet.
 */
export type Statement = { sql: string; params: string[] };

// Milliseconds since epoch -> timestamptz, exactly (no float division by 1000).
const fromMs = (column: string) => `(timestamptz 'epoch' + ${column} * interval '1 millisecond')`;

const UPSERT_EVENTS = `
  INSERT INTO read_receipt_events (sdk_app_id, group_id, msg_seq, event_time, received_at, client_ip, opt_platform)
  SELECT t.app, t.grp, t.seq, ${fromMs("t.event_ms")}, ${fromMs("t.received_ms")}, t.ip, t.platform
  FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[], $7::text[])
       AS t(app, grp, seq, event_ms, received_ms, ip, platform)
  ORDER BY t.app, t.grp, t.seq, t.event_ms
  ON CONFLICT DO NOTHING`;

const UPSERT_RECEIPTS = `
  INSERT INTO group_message_receipts AS r
    (sdk_app_id, group_id, msg_seq, group_type, read_num, unread_num, event_time, updated_at)
  SELECT t.app, t.grp, t.seq, t.typ, t.read_num, t.unread_num, ${fromMs("t.event_ms")}, now()
  FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::int[], $6::int[], $7::bigint[])
       AS t(app, grp, seq, typ, read_num, unread_num, event_ms)
  ORDER BY t.app, t.grp, t.seq
  ON CONFLICT (sdk_app_id, group_id, msg_seq) DO UPDATE SET
    group_type = EXCLUDED.group_type,
    read_num = EXCLUDED.read_num,
    unread_num = EXCLUDED.unread_num,
    event_time = EXCLUDED.event_time,
    updated_at = EXCLUDED.updated_at
  -- The order of isNewerSnapshot(): newer event, then more readers, then fewer unread.
  WHERE (EXCLUDED.event_time, EXCLUDED.read_num, -EXCLUDED.unread_num) > (r.event_time, r.read_num, -r.unread_num)`;

const UPSERT_READERS = `
  INSERT INTO group_message_readers AS m (sdk_app_id, group_id, msg_seq, member_account, read_at)
  SELECT t.app, t.grp, t.seq, t.account, ${fromMs("t.read_ms")}
  FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::bigint[])
       AS t(app, grp, seq, account, read_ms)
  ORDER BY t.app, t.grp, t.seq, t.account
  ON CONFLICT (sdk_app_id, group_id, msg_seq, member_account) DO UPDATE SET read_at = EXCLUDED.read_at
  WHERE EXCLUDED.read_at < m.read_at`;

/** The statements for one folded batch, in the order they must run (one transaction). */
export function receiptStatements(rows: ReceiptRows): Statement[] {
  return columnStatements(rows).map(({ sql, params }) => ({ sql, params: params.map(arrayLiteral) }));
}

/**
 * A Postgres array literal of `values`: every element double-quoted, with `\` and `"` escaped,
 * so commas, braces, spaces and the word NULL inside a value stay text; null becomes NULL.
 */
export function arrayLiteral(values: readonly (string | number | null)[]): string {
  let literal = "{";
  for (let i = 0; i < values.length; i++) {
    if (i > 0) literal += ",";
    const value = values[i];
    if (value === null || value === undefined) {
      literal += "NULL";
      continue;
    }
    const text = String(value);
    // Testing first is faster than always replacing: almost no value needs escaping.
    literal += NEEDS_ESCAPE.test(text) ? `"${text.replace(/[\\"]/g, "\\$&")}"` : `"${text}"`;
  }
  return `${literal}}`;
}

const NEEDS_ESCAPE = /[\\"]/;

function columnStatements({ events, receipts, readers }: ReceiptRows): { sql: string; params: (string | number | null)[][] }[] {
  // bigint columns travel as decimal strings: a JS number would lose MsgSeq precision past 2^53.
  return [
    {
      sql: UPSERT_EVENTS,
      params: [
        events.map((e) => e.sdkAppId),
        events.map((e) => e.groupId),
        events.map((e) => String(e.msgSeq)),
        events.map((e) => String(e.eventTimeMs)),
        events.map((e) => String(e.receivedAtMs)),
        events.map((e) => e.clientIp),
        events.map((e) => e.optPlatform),
      ],
    },
    {
      sql: UPSERT_RECEIPTS,
      params: [
        receipts.map((r) => r.sdkAppId),
        receipts.map((r) => r.groupId),
        receipts.map((r) => String(r.msgSeq)),
        receipts.map((r) => r.groupType),
        receipts.map((r) => r.readNum),
        receipts.map((r) => r.unreadNum),
        receipts.map((r) => String(r.eventTimeMs)),
      ],
    },
    {
      sql: UPSERT_READERS,
      params: [
        readers.map((r) => r.sdkAppId),
        readers.map((r) => r.groupId),
        readers.map((r) => String(r.msgSeq)),
        readers.map((r) => r.memberAccount),
        readers.map((r) => String(r.readAtMs)),
      ],
    },
  ];
}
