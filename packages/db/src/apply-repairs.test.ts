import { describe, expect, it } from "vitest";
import { APP_ID, query, receiptPacket, useTestDatabase } from "@receipt-sync/testing";
import { applyReceipts } from "./apply-receipts.js";
import { applyRepairs, type Repair } from "./apply-repairs.js";
import { findActiveGroups, findStoredReceipts } from "./reconcile-queries.js";
import { createDatabase } from "./create-database.js";

const database = useTestDatabase(createDatabase, {
  poolMax: 4,
  truncate: ["group_message_receipts", "group_message_readers", "read_receipt_events", "reconcile_repairs"],
});

const GROUP = "@TGS#2TTV7VSII";
const FETCHED_MS = 5_000_000;

async function message(seq: number) {
  const [counts] = await query<{ read_num: number; unread_num: number; event_ms: string; group_type: string }>(
    database.url,
    `SELECT read_num, unread_num, group_type, (extract(epoch from event_time) * 1000)::bigint::text AS event_ms
       FROM group_message_receipts WHERE group_id = $1 AND msg_seq = $2`,
    [GROUP, seq],
  );
  const readers = await query<{ member_account: string; read_ms: string }>(
    database.url,
    `SELECT member_account, (extract(epoch from read_at) * 1000)::bigint::text AS read_ms
       FROM group_message_readers WHERE group_id = $1 AND msg_seq = $2 ORDER BY member_account`,
    [GROUP, seq],
  );
  return { counts, readers };
}

const audit = () =>
  query<{ msg_seq: string; differences: string[]; before: unknown; after: unknown; fetched_ms: string }>(
    database.url,
    `SELECT msg_seq::text, differences, before, after, (extract(epoch from fetched_at) * 1000)::bigint::text AS fetched_ms FROM reconcile_repairs ORDER BY id`,
  );

const repair = (overrides: Partial<Repair> = {}): Repair => ({
  groupId: GROUP,
  msgSeq: 7,
  groupType: "Public",
  fetchedAtMs: FETCHED_MS,
  counts: { readNum: 2, unreadNum: 3 },
  readers: ["alice", "bob"],
  ...overrides,
});

describe("applyRepairs", () => {
  it("writes a message we never heard of, dated at the fetch, and audits it as missing", async () => {
    const applied = await applyRepairs(database.db, APP_ID, [repair()]);
    expect(applied).toEqual([
      {
        groupId: GROUP,
        msgSeq: 7,
        differences: ["missing"],
        before: undefined,
        after: { readNum: 2, unreadNum: 3, readers: ["alice", "bob"] },
      },
    ]);
    expect(await message(7)).toEqual({
      counts: { read_num: 2, unread_num: 3, group_type: "Public", event_ms: String(FETCHED_MS) },
      readers: [
        { member_account: "alice", read_ms: String(FETCHED_MS) },
        { member_account: "bob", read_ms: String(FETCHED_MS) },
      ],
    });
    expect(await audit()).toEqual([
      {
        msg_seq: "7",
        differences: ["missing"],
        before: null,
        after: { readNum: 2, unreadNum: 3, readers: ["alice", "bob"] },
        fetched_ms: String(FETCHED_MS),
      },
    ]);
  });

  it("lets an earlier callback that arrives after the repair lower read_at, but not roll the counts back", async () => {
    await applyRepairs(database.db, APP_ID, [repair()]);
    await applyReceipts(database.db, [
      receiptPacket({ eventTimeMs: 1_000, messages: [{ seq: 7, read: 1, unread: 4, readers: ["alice"] }] }),
    ]);
    const { counts, readers } = await message(7);
    expect(counts).toMatchObject({ read_num: 2, unread_num: 3, event_ms: String(FETCHED_MS) });
    expect(readers).toEqual([
      { member_account: "alice", read_ms: "1000" },
      { member_account: "bob", read_ms: String(FETCHED_MS) },
    ]);
  });

  it("gives way to a callback newer than the fetch, whichever is applied first", async () => {
    const newer = receiptPacket({
      eventTimeMs: FETCHED_MS + 1,
      messages: [{ seq: 7, read: 3, unread: 2, readers: ["carol"] }],
    });
    await applyReceipts(database.db, [newer]);
    await applyRepairs(database.db, APP_ID, [repair()]);
    const first = await message(7);
    await query(database.url, "TRUNCATE group_message_receipts, group_message_readers, read_receipt_events");
    await applyRepairs(database.db, APP_ID, [repair()]);
    await applyReceipts(database.db, [newer]);
    expect(await message(7)).toEqual(first);
    expect(first.counts).toMatchObject({ read_num: 3, unread_num: 2 });
  });

  it("changes nothing and audits nothing when the same repair is applied again", async () => {
    await applyRepairs(database.db, APP_ID, [repair()]);
    const state = await message(7);
    expect(
      await applyRepairs(database.db, APP_ID, [repair({ fetchedAtMs: FETCHED_MS + 60_000, counts: undefined })]),
    ).toEqual([]);
    expect(await message(7)).toEqual(state);
    expect(await audit()).toHaveLength(1);
  });

  it("adds readers a lost callback would have brought, keeps the rest, and audits what changed", async () => {
    await applyReceipts(database.db, [
      receiptPacket({ eventTimeMs: 2_000, messages: [{ seq: 7, read: 2, unread: 3, readers: ["bob"] }] }),
    ]);
    const applied = await applyRepairs(database.db, APP_ID, [repair({ counts: undefined })]);
    expect(applied).toMatchObject([
      { differences: ["readers"], before: { readers: ["bob"] }, after: { readNum: 2, readers: ["alice", "bob"] } },
    ]);
    expect((await message(7)).readers).toEqual([
      { member_account: "alice", read_ms: String(FETCHED_MS) },
      { member_account: "bob", read_ms: "2000" },
    ]);
  });
});

describe("findActiveGroups and findStoredReceipts", () => {
  it("list groups with events in the window, what we hold from the oldest recent message up, and its state", async () => {
    await applyReceipts(database.db, [
      receiptPacket({ groupId: "old", eventTimeMs: 1_000, messages: [{ seq: 1, read: 1, unread: 0 }] }),
      receiptPacket({
        groupId: "g",
        eventTimeMs: 1_000,
        messages: [
          { seq: 1, read: 1, unread: 0 },
          { seq: 4, read: 1, unread: 0 },
        ],
      }),
      receiptPacket({
        groupId: "g",
        eventTimeMs: 9_000,
        messages: [
          { seq: 3, read: 2, unread: 1, readers: ["x", "y"] },
          { seq: 6, read: 1, unread: 2 },
        ],
      }),
    ]);
    expect(await findActiveGroups(database.db, { sdkAppId: APP_ID, sinceMs: 5_000 })).toEqual([
      { groupId: "g", groupType: "Public", newestSeq: 6, recentSeqs: [3, 6], knownSeqs: [3, 4, 6] },
    ]);
    expect(await findActiveGroups(database.db, { sdkAppId: APP_ID, sinceMs: 5_000, groupId: "old" })).toEqual([]);
    const stored = await findStoredReceipts(database.db, APP_ID, [
      { groupId: "g", msgSeq: 3 },
      { groupId: "g", msgSeq: 5 },
    ]);
    expect([...stored.entries()]).toEqual([["g\u00003", { readNum: 2, unreadNum: 1, readers: ["x", "y"] }]]);
  });
});
