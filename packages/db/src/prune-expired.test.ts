import pg from "pg";
import { describe, expect, it } from "vitest";
import { APP_ID, query, receiptPacket, useTestDatabase } from "@receipt-sync/testing";
import { applyReceipts } from "./apply-receipts.js";
import { applyRepairs } from "./apply-repairs.js";
import { createDatabase } from "./create-database.js";
import { pruneExpired, RETENTION_DAY_MS } from "./prune-expired.js";
import { recordSkips } from "./record-skips.js";

const NOW_MS = Date.UTC(2026, 10, 27);
const CUTOFF_MS = NOW_MS - 30 * RETENTION_DAY_MS;
const OLD_MS = CUTOFF_MS - 5 * RETENTION_DAY_MS;
const RECENT_MS = NOW_MS - RETENTION_DAY_MS;

const database = useTestDatabase(createDatabase, {
  poolMax: 4,
  truncate: [
    "group_message_receipts",
    "group_message_readers",
    "read_receipt_events",
    "reconcile_repairs",
    "reconcile_skips",
  ],
});

const event = (groupId: string, seq: number, eventTimeMs: number, read: number, readers: string[]) =>
  receiptPacket({ groupId, eventTimeMs, messages: [{ seq, read, unread: 10 - read, readers }] });

async function rows(groupId: string) {
  const [counts] = await query<{ read_num: number }>(
    database.url,
    "SELECT read_num FROM group_message_receipts WHERE group_id = $1",
    [groupId],
  );
  const readers = await query<{ member_account: string }>(
    database.url,
    "SELECT member_account FROM group_message_readers WHERE group_id = $1 ORDER BY 1",
    [groupId],
  );
  const [ledger] = await query<{ n: number }>(
    database.url,
    "SELECT count(*)::int AS n FROM read_receipt_events WHERE group_id = $1",
    [groupId],
  );
  return { readNum: counts?.read_num ?? null, readers: readers.map((r) => r.member_account), ledger: ledger!.n };
}

describe("pruneExpired", () => {
  it("removes a message whose every event is past the retention: ledger, readers and counts together", async () => {
    await applyReceipts(database.db, [event("old", 1, OLD_MS, 1, ["a"]), event("old", 1, OLD_MS + 1000, 2, ["b"])]);
    const pruned = await pruneExpired(database.db, { cutoffMs: CUTOFF_MS, batchRows: 1 });
    expect(await rows("old")).toEqual({ readNum: null, readers: [], ledger: 0 });
    expect(pruned).toMatchObject({ read_receipt_events: 2, group_message_readers: 2, group_message_receipts: 1 });
  });

  it("keeps a message with a recent event whole, readers of any age included, and drops only its old ledger rows", async () => {
    await applyReceipts(database.db, [event("live", 1, OLD_MS, 1, ["a"]), event("live", 1, RECENT_MS, 2, ["b"])]);
    await pruneExpired(database.db, { cutoffMs: CUTOFF_MS });
    expect(await rows("live")).toEqual({ readNum: 2, readers: ["a", "b"], ledger: 1 });
  });

  it("finds messages a repair wrote without any callback, and keeps one a repair touched recently", async () => {
    const fetchedAtMs = (ms: number) => ({
      fetchedAtMs: ms,
      groupType: "Public",
      counts: { readNum: 3, unreadNum: 7 },
    });
    await applyRepairs(database.db, APP_ID, [
      { groupId: "repaired-old", msgSeq: 1, readers: ["a"], ...fetchedAtMs(OLD_MS) },
    ]);
    await applyRepairs(database.db, APP_ID, [
      { groupId: "repaired-new", msgSeq: 1, readers: ["a"], ...fetchedAtMs(RECENT_MS) },
    ]);
    await query(database.url, "UPDATE reconcile_repairs SET repaired_at = fetched_at");
    const pruned = await pruneExpired(database.db, { cutoffMs: CUTOFF_MS });
    expect(await rows("repaired-old")).toEqual({ readNum: null, readers: [], ledger: 0 });
    expect(await rows("repaired-new")).toEqual({ readNum: 3, readers: ["a"], ledger: 0 });
    expect(pruned).toMatchObject({ reconcile_repairs: 1, group_message_receipts: 1 });
  });

  it("keeps a message whose counts are old but one of whose readers was first seen recently", async () => {
    await applyReceipts(database.db, [event("late-reader", 1, OLD_MS, 1, ["a"])]);
    await applyRepairs(database.db, APP_ID, [
      { groupId: "late-reader", msgSeq: 1, groupType: "Public", fetchedAtMs: RECENT_MS, readers: ["a", "z"] },
    ]);
    await pruneExpired(database.db, { cutoffMs: CUTOFF_MS });
    expect(await rows("late-reader")).toEqual({ readNum: 1, readers: ["a", "z"], ledger: 0 });
  });

  it("drops reconciler skips past the retention", async () => {
    const skip = { groupId: "g", msgSeq: null, api: "get_group_info", errorCode: 10010, errorInfo: "gone" };
    await recordSkips(database.db, APP_ID, [skip], OLD_MS);
    await recordSkips(database.db, APP_ID, [skip], RECENT_MS);
    expect(await pruneExpired(database.db, { cutoffMs: CUTOFF_MS })).toMatchObject({ reconcile_skips: 1 });
    expect(await query(database.url, "SELECT count(*)::int AS n FROM reconcile_skips")).toEqual([{ n: 1 }]);
  });

  it("never waits for a writer: a message whose counts row is held is left, with its ledger rows, for the next run", async () => {
    await applyReceipts(database.db, [event("held", 1, OLD_MS, 1, ["a"]), event("free", 1, OLD_MS, 1, ["a"])]);
    const writer = new pg.Client({ connectionString: database.url });
    await writer.connect();
    try {
      await writer.query("BEGIN");
      await writer.query("SELECT 1 FROM group_message_receipts WHERE group_id = 'held' FOR UPDATE");
      const startedMs = Date.now();
      await pruneExpired(database.db, { cutoffMs: CUTOFF_MS, lockTimeoutMs: 10_000 });
      expect(Date.now() - startedMs).toBeLessThan(2000);
      expect(await rows("held")).toEqual({ readNum: 1, readers: ["a"], ledger: 1 });
      expect(await rows("free")).toEqual({ readNum: null, readers: [], ledger: 0 });
      await writer.query("COMMIT");
    } finally {
      await writer.end();
    }
    await pruneExpired(database.db, { cutoffMs: CUTOFF_MS });
    expect(await rows("held")).toEqual({ readNum: null, readers: [], ledger: 0 });
  });
});

describe("pruneExpired's connection", () => {
  it("goes through the driver adapter alone, so a worker that prunes never connects Prisma Client", async () => {
    await applyReceipts(database.db, [event("adapter-only", 1, OLD_MS, 1, ["a"])]);
    const own = createDatabase({ databaseUrl: database.url, poolMax: 2 });
    // Connecting the client costs about 1 s of CPU and 77 MB (README, Performance): any use of
    // its query path here fails the prune.
    const refuse = () => {
      throw new Error("pruning used Prisma Client's query path");
    };
    Object.assign(own, { $transaction: refuse, $queryRawUnsafe: refuse, $executeRawUnsafe: refuse, $connect: refuse });
    try {
      const pruned = await pruneExpired(own, { cutoffMs: CUTOFF_MS });
      expect(pruned).toMatchObject({ read_receipt_events: 1, group_message_readers: 1, group_message_receipts: 1 });
      expect(await rows("adapter-only")).toEqual({ readNum: null, readers: [], ledger: 0 });
    } finally {
      await own.$disconnect();
    }
  });

  it("ends its transaction when a statement fails, and gives the connection back clean", async () => {
    const own = createDatabase({ databaseUrl: database.url, poolMax: 1 });
    try {
      // lock_timeout 0 means "wait for ever" to Postgres; a negative one is refused (22023).
      await expect(pruneExpired(own, { cutoffMs: CUTOFF_MS, lockTimeoutMs: -1 })).rejects.toThrow(/22023/);
      await applyReceipts(own, [event("after-failure", 1, OLD_MS, 1, ["a"])]);
      expect(await rows("after-failure")).toEqual({ readNum: 1, readers: ["a"], ledger: 1 });
      await expect(pruneExpired(own, { cutoffMs: CUTOFF_MS })).resolves.toMatchObject({ read_receipt_events: 1 });
    } finally {
      await own.$disconnect();
    }
  });
});

describe("a replay of a pruned event", () => {
  it("changes neither counts nor readers of a message still kept; only its ledger row returns, to go again", async () => {
    const old = event("replay-live", 1, OLD_MS, 1, ["a"]);
    await applyReceipts(database.db, [old, event("replay-live", 1, RECENT_MS, 2, ["b"])]);
    await pruneExpired(database.db, { cutoffMs: CUTOFF_MS });
    const before = await rows("replay-live");
    await applyReceipts(database.db, [old]);
    expect(await rows("replay-live")).toEqual({ ...before, ledger: before.ledger + 1 });
    await pruneExpired(database.db, { cutoffMs: CUTOFF_MS });
    expect(await rows("replay-live")).toEqual(before);
  });

  it("brings back a pruned message as that one event saw it, and the next run removes it again", async () => {
    const first = event("replay-gone", 1, OLD_MS, 1, ["a"]);
    await applyReceipts(database.db, [first, event("replay-gone", 1, OLD_MS + 1000, 2, ["b"])]);
    await pruneExpired(database.db, { cutoffMs: CUTOFF_MS });
    await applyReceipts(database.db, [first]);
    expect(await rows("replay-gone")).toEqual({ readNum: 1, readers: ["a"], ledger: 1 });
    await pruneExpired(database.db, { cutoffMs: CUTOFF_MS });
    expect(await rows("replay-gone")).toEqual({ readNum: null, readers: [], ledger: 0 });
  });
});
