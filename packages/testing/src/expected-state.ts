import type { ReceiptPacket } from "@receipt-sync/protocol";
import pg from "pg";

/**
 * What the tables must hold after a stream, computed here from the rules in the README, on
 * purpose without the production code, and compared with what Postgres actually holds.
 */
type ExpectedState = {
  receipts: Map<string, string>; // key -> "read/unread/eventMs"
  readers: Map<string, string>; // key -> readAtMs
  events: Set<string>;
};

export function expectedState(packets: readonly ReceiptPacket[]): ExpectedState {
  const best = new Map<string, { read: number; unread: number; eventMs: number }>();
  const readers = new Map<string, string>();
  const events = new Set<string>();
  for (const p of packets) {
    const eventMs = p.receipt.EventTime;
    for (const m of p.receipt.GroupMsgReceiptList) {
      const key = `${p.sdkAppId}|${p.receipt.GroupId}|${m.MsgSeq}`;
      events.add(`${key}|${eventMs}`);
      const current = best.get(key);
      const wins =
        !current ||
        eventMs > current.eventMs ||
        (eventMs === current.eventMs &&
          (m.ReadNum > current.read || (m.ReadNum === current.read && m.UnreadNum < current.unread)));
      if (wins) best.set(key, { read: m.ReadNum, unread: m.UnreadNum, eventMs });
      for (const r of m.ReadReceiptMembers ?? []) {
        const readerKey = `${key}|${r.Member_Account}`;
        const seen = readers.get(readerKey);
        if (seen === undefined || eventMs < Number(seen)) readers.set(readerKey, String(eventMs));
      }
    }
  }
  const receipts = new Map([...best].map(([k, v]) => [k, `${v.read}/${v.unread}/${v.eventMs}`]));
  return { receipts, readers, events };
}

export type Comparison = { expectedRows: number; lost: number; wrong: number; extra: number };

/** Rows expected but missing (lost), present with other values (wrong), present but not expected (extra). */
export async function compareWithDatabase(
  databaseUrl: string,
  expected: ExpectedState,
  schema = "public",
): Promise<Comparison> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const ms = (col: string) => `(extract(epoch from ${col}) * 1000)::bigint::text`;
    const key = `sdk_app_id::text || '|' || group_id || '|' || msg_seq::text`;
    const receipts = await client.query<{ k: string; v: string }>(
      `SELECT ${key} AS k, read_num || '/' || unread_num || '/' || ${ms("event_time")} AS v FROM "${schema}".group_message_receipts`,
    );
    const readers = await client.query<{ k: string; v: string }>(
      `SELECT ${key} || '|' || member_account AS k, ${ms("read_at")} AS v FROM "${schema}".group_message_readers`,
    );
    const events = await client.query<{ k: string }>(
      `SELECT ${key} || '|' || ${ms("event_time")} AS k FROM "${schema}".read_receipt_events`,
    );

    let lost = 0;
    let wrong = 0;
    let extra = 0;
    const tally = (actual: Map<string, string>, wanted: Map<string, string>) => {
      for (const [k, v] of wanted) {
        const got = actual.get(k);
        if (got === undefined) lost += 1;
        else if (got !== v) wrong += 1;
      }
      for (const k of actual.keys()) if (!wanted.has(k)) extra += 1;
    };
    tally(new Map(receipts.rows.map((r) => [r.k, r.v])), expected.receipts);
    tally(new Map(readers.rows.map((r) => [r.k, r.v])), expected.readers);
    tally(new Map(events.rows.map((r) => [r.k, ""])), new Map([...expected.events].map((k) => [k, ""])));
    return { expectedRows: expected.receipts.size + expected.readers.size + expected.events.size, lost, wrong, extra };
  } finally {
    await client.end();
  }
}
