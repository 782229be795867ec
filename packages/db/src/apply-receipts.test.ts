import pg from "pg";
import { describe, expect, it } from "vitest";
import { query, receiptPacket, useTestDatabase, waitFor } from "@receipt-sync/testing";
import { applyReceipts } from "./apply-receipts.js";
import { createDatabase } from "./create-database.js";

const database = useTestDatabase(createDatabase, {
  poolMax: 12,
  truncate: ["group_message_receipts", "group_message_readers", "read_receipt_events"],
});

type State = { receipts: unknown[]; readers: unknown[]; events: number };

async function tableState(): Promise<State> {
  const receipts = await query(
    database.url,
    `SELECT sdk_app_id::text, group_id, msg_seq::text, group_type, read_num, unread_num,
            (extract(epoch from event_time) * 1000)::bigint::text AS event_ms
       FROM group_message_receipts ORDER BY 1, 2, 3`,
  );
  const readers = await query(
    database.url,
    `SELECT group_id, msg_seq::text, member_account, (extract(epoch from read_at) * 1000)::bigint::text AS read_ms
       FROM group_message_readers ORDER BY 1, 2, 3`,
  );
  const [events] = await query<{ n: number }>(database.url, "SELECT count(*)::int AS n FROM read_receipt_events");
  return { receipts, readers, events: events!.n };
}

const first = receiptPacket({ eventTimeMs: 1_000, messages: [{ seq: 5, read: 1, unread: 4, readers: ["alice"] }] });
const second = receiptPacket({ eventTimeMs: 2_000, messages: [{ seq: 5, read: 2, unread: 3, readers: ["bob"] }] });

describe("applyReceipts", () => {
  it("stores counts, readers and the ledger row of one callback", async () => {
    await applyReceipts(database.db, [first]);
    expect(await tableState()).toEqual({
      receipts: [
        {
          sdk_app_id: "1400000001",
          group_id: "@TGS#2TTV7VSII",
          msg_seq: "5",
          group_type: "Public",
          read_num: 1,
          unread_num: 4,
          event_ms: "1000",
        },
      ],
      readers: [{ group_id: "@TGS#2TTV7VSII", msg_seq: "5", member_account: "alice", read_ms: "1000" }],
      events: 1,
    });
  });

  it("applies a duplicate delivery once, however often it arrives", async () => {
    await applyReceipts(database.db, [first]);
    const once = await tableState();
    await applyReceipts(database.db, [first, first]);
    await applyReceipts(database.db, [first]);
    expect(await tableState()).toEqual(once);
  });

  it("does not let an older event overwrite newer counts", async () => {
    await applyReceipts(database.db, [second]);
    await applyReceipts(database.db, [first]);
    const state = await tableState();
    expect(state.receipts).toMatchObject([{ read_num: 2, unread_num: 3, event_ms: "2000" }]);
    expect(state.readers).toHaveLength(2);
    expect(state.events).toBe(2);
  });

  it("merges readers of two different events in the same millisecond and keeps the larger ReadNum", async () => {
    const a = receiptPacket({ eventTimeMs: 3_000, messages: [{ seq: 9, read: 3, unread: 2, readers: ["carol"] }] });
    const b = receiptPacket({ eventTimeMs: 3_000, messages: [{ seq: 9, read: 4, unread: 1, readers: ["dave"] }] });
    await applyReceipts(database.db, [b]);
    await applyReceipts(database.db, [a]);
    const state = await tableState();
    expect(state.receipts).toMatchObject([{ read_num: 4, unread_num: 1, event_ms: "3000" }]);
    expect(state.readers.map((r) => (r as { member_account: string }).member_account)).toEqual(["carol", "dave"]);
  });

  it("keeps the earliest read_at for a reader listed by several events", async () => {
    const later = receiptPacket({ eventTimeMs: 9_000, messages: [{ seq: 5, read: 3, unread: 2, readers: ["alice"] }] });
    await applyReceipts(database.db, [later]);
    await applyReceipts(database.db, [first]);
    expect((await tableState()).readers).toEqual([
      { group_id: "@TGS#2TTV7VSII", msg_seq: "5", member_account: "alice", read_ms: "1000" },
    ]);
  });

  it("stores MsgSeq beyond 2^32 and non-ASCII accounts exactly", async () => {
    const seq = 2 ** 40 + 7;
    await applyReceipts(database.db, [
      receiptPacket({
        eventTimeMs: 1_670_574_414_123,
        messages: [{ seq, read: 1, unread: 0, readers: ["张三", "Ünïcødé😀"] }],
      }),
    ]);
    const state = await tableState();
    expect(state.receipts).toMatchObject([{ msg_seq: String(seq), event_ms: "1670574414123" }]);
    expect(state.readers.map((r) => (r as { member_account: string }).member_account).sort()).toEqual(
      ["Ünïcødé😀", "张三"].sort(),
    );
  });

  it("ends in the same state whatever order the events arrive in", async () => {
    const events = [1, 2, 3, 4].map((i) =>
      receiptPacket({
        eventTimeMs: i * 1000,
        messages: [
          { seq: 1, read: i, unread: 10 - i, readers: [`u${i}`] },
          { seq: 2, read: 5 - i, unread: i, readers: ["same"] },
        ],
      }),
    );
    await applyReceipts(database.db, events);
    const expected = await tableState();
    for (const order of [
      [3, 1, 0, 2],
      [2, 3, 1, 0],
      [0, 1, 2, 3],
    ]) {
      await query(database.url, "TRUNCATE group_message_receipts, group_message_readers, read_receipt_events");
      for (const i of order) await applyReceipts(database.db, [events[i]!]);
      expect(await tableState()).toEqual(expected);
    }
  });

  it("ends in the same state whatever order two events equal in time and counts arrive in, their Type included", async () => {
    const events = ["Public", "Meeting", "Work"].map((type) =>
      receiptPacket({ type, eventTimeMs: 1_000, messages: [{ seq: 1, read: 1, unread: 1, readers: ["same"] }] }),
    );
    await applyReceipts(database.db, events);
    const expected = await tableState();
    for (const order of [
      [0, 1, 2],
      [2, 1, 0],
      [1, 0, 2],
    ]) {
      await query(database.url, "TRUNCATE group_message_receipts, group_message_readers, read_receipt_events");
      for (const i of order) await applyReceipts(database.db, [events[i]!]);
      expect(await tableState()).toEqual(expected);
    }
  });

  it("applies the same overlapping batches concurrently without deadlock or double counting", async () => {
    // Every batch touches the same 20 messages in a different order: without a fixed lock
    // order, concurrent upserts of these rows deadlock.
    const batches = Array.from({ length: 12 }, (_, b) =>
      Array.from({ length: 20 }, (_, i) => {
        const seq = (i * 7 + b * 3) % 20;
        return receiptPacket({
          eventTimeMs: 1_000 + seq,
          messages: [{ seq, read: seq, unread: 20 - seq, readers: [`r${seq}`, `r${(seq + 1) % 20}`] }],
        });
      }),
    );
    await Promise.all([...batches, ...batches].map((batch) => applyReceipts(database.db, batch)));
    const state = await tableState();
    expect(state.receipts).toHaveLength(20);
    expect(state.readers).toHaveLength(40);
    expect(state.events).toBe(20);
    for (const row of state.receipts as { msg_seq: string; read_num: number; event_ms: string }[]) {
      expect(row.read_num).toBe(Number(row.msg_seq));
      expect(row.event_ms).toBe(String(1_000 + Number(row.msg_seq)));
    }
  });

  it("takes row locks ledger first, then counts, then readers, as the retention pruner does", async () => {
    // The pruner locks counts rows and then deletes readers rows: a writer holding a readers
    // row while it waits for a counts row would deadlock with it. Hold counts row 1, replay
    // messages 1 and 2, and look at what the waiting writer has already locked.
    const stored = (eventTimeMs: number) =>
      receiptPacket({
        eventTimeMs,
        messages: [
          { seq: 1, read: 1, unread: 1, readers: ["r"] },
          { seq: 2, read: 1, unread: 1, readers: ["r"] },
        ],
      });
    await applyReceipts(database.db, [stored(1_000)]);
    const connect = async () => {
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      return client;
    };
    const [holder, probe] = await Promise.all([connect(), connect()]);
    try {
      await holder.query("BEGIN");
      await holder.query("SELECT 1 FROM group_message_receipts WHERE msg_seq = 1 FOR UPDATE");
      const writing = applyReceipts(database.db, [stored(2_000)]);
      await waitFor("the writer to wait for the held counts row", async () => {
        const rows = await query(
          database.url,
          `SELECT 1 FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%WITH events AS%'`,
        );
        return rows.length > 0;
      });
      // Readers come last: message 2's readers row is not locked yet.
      await expect(
        probe.query("SELECT 1 FROM group_message_readers WHERE msg_seq = 2 FOR UPDATE NOWAIT"),
      ).resolves.toMatchObject({ rowCount: 1 });
      // The ledger came first: its new row for message 2 is written, so inserting it again waits.
      await probe.query("SET lock_timeout = '200ms'");
      await expect(
        probe.query(
          `INSERT INTO read_receipt_events (sdk_app_id, group_id, msg_seq, event_time, received_at)
           VALUES (1400000001, '@TGS#2TTV7VSII', 2, timestamptz 'epoch' + interval '2 seconds', now())
           ON CONFLICT DO NOTHING`,
        ),
      ).rejects.toMatchObject({ code: "55P03" });
      await holder.query("COMMIT");
      await writing;
      expect((await tableState()).events).toBe(4);
    } finally {
      await holder.query("ROLLBACK").catch(() => undefined);
      await Promise.all([holder.end(), probe.end()]);
    }
  });

  it("keeps apps and groups apart", async () => {
    await applyReceipts(database.db, [
      receiptPacket({
        sdkAppId: "1400000001",
        groupId: "g",
        eventTimeMs: 1,
        messages: [{ seq: 1, read: 1, unread: 0 }],
      }),
      receiptPacket({
        sdkAppId: "1400000002",
        groupId: "g",
        eventTimeMs: 1,
        messages: [{ seq: 1, read: 2, unread: 0 }],
      }),
      receiptPacket({
        sdkAppId: "1400000001",
        groupId: "h",
        eventTimeMs: 1,
        messages: [{ seq: 1, read: 3, unread: 0 }],
      }),
    ]);
    expect((await tableState()).receipts).toHaveLength(3);
  });
});
