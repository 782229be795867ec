import { applyWirePackets, createDatabase, executeStatement, quarantineCallbacks } from "@receipt-sync/db";
import { fromWire, toWire, type WirePacket } from "@receipt-sync/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { query, receiptPacket, useTestDatabase } from "@receipt-sync/testing";
import { BatchWriter } from "./batch-writer.js";
import { classifyDbError } from "./classify-db-error.js";

const database = useTestDatabase(createDatabase, {
  poolMax: 2,
  truncate: ["group_message_receipts", "group_message_readers", "read_receipt_events", "quarantined_callbacks"],
});

// Packets as jobs carry them and the writer receives them.
const good = (i: number) =>
  toWire(
    receiptPacket({
      groupId: `g${i % 7}`,
      eventTimeMs: 1000 + i,
      messages: [{ seq: i, read: 1, unread: 2, readers: [`u${i}`] }],
    }),
  );

// Callbacks the packet schema refuses, so only a writer handed them directly can meet them.
// Each makes real Postgres fail with a data error of its own class.
const culprits: Record<string, (i: number) => WirePacket> = {
  "22P02 (an SdkAppid that is no number)": (i) => {
    const packet = good(i);
    packet[0] = `x${i}`;
    return packet;
  },
  "22021 (NUL in text)": (i) =>
    toWire(
      receiptPacket({ groupId: `g${i % 7}\u0000`, eventTimeMs: 1000 + i, messages: [{ seq: i, read: 1, unread: 0 }] }),
    ),
  "22003 (count beyond int)": (i) =>
    toWire(
      receiptPacket({ groupId: `g${i % 7}`, eventTimeMs: 1000 + i, messages: [{ seq: i, read: 2 ** 31, unread: 0 }] }),
    ),
};

function countingWriter(options: { apply?: (packets: readonly WirePacket[]) => Promise<void> } = {}) {
  const stats = { transactions: 0, failed: 0, quarantined: 0 };
  const writer = new BatchWriter({
    lanes: 1,
    maxBatchPackets: 500,
    apply: options.apply ?? (async (packets) => void (await applyWirePackets(database.db, packets))),
    quarantine: async (entries) => {
      stats.quarantined += entries.length;
      await quarantineCallbacks(database.db, entries);
    },
    onTransaction: (_packets, _seconds, ok) => {
      stats.transactions += 1;
      if (!ok) stats.failed += 1;
    },
  });
  return { writer, stats };
}

const count = async (table: string) =>
  (await query<{ n: number }>(database.url, `SELECT count(*)::int AS n FROM ${table}`))[0]!.n;

describe("BatchWriter", () => {
  it("applies 499 of 500 and quarantines the one bad callback, wherever it sits, in 10 to 20 transactions", async () => {
    const positions = fc.sample(fc.integer({ min: 0, max: 499 }), { numRuns: 3, seed: 11 });
    const cases = [
      ...Object.keys(culprits).map((kind, k) => [kind, [0, 499, 250][k]!] as const),
      ...positions.map((p) => ["22003 (count beyond int)", p] as const),
    ];
    for (const [kind, position] of cases) {
      await query(
        database.url,
        "TRUNCATE group_message_receipts, group_message_readers, read_receipt_events, quarantined_callbacks",
      );
      const packets = Array.from({ length: 500 }, (_, i) => (i === position ? culprits[kind]!(i) : good(i)));
      const { writer, stats } = countingWriter();
      await writer.write(packets);

      expect({ kind, position, messages: await count("group_message_receipts") }).toEqual({
        kind,
        position,
        messages: 499,
      });
      expect(await count("read_receipt_events")).toBe(499);
      const quarantined = await query<{ reason: string; sql_state: string; payload_text: string }>(
        database.url,
        "SELECT reason, sql_state, payload_text FROM quarantined_callbacks",
      );
      // The writer meets packets unparsed (jobs the ingest stamped), so the schema judges the
      // culprit once the database has refused it alone: these fail it, hence invalid_payload.
      // The quarantine keeps the packet, not its wire form.
      expect(quarantined).toEqual([
        {
          reason: "invalid_payload",
          sql_state: kind.slice(0, 5),
          payload_text: JSON.stringify(fromWire(packets[position])),
        },
      ]);
      // 1 for the whole batch, 1 or 2 per halving (8 or 9 halvings from 500), 1 alone.
      expect(stats.transactions).toBeGreaterThanOrEqual(10);
      expect(stats.transactions).toBeLessThanOrEqual(20);
    }
  });

  it("says rejected_by_database for a callback the schema accepts and Postgres refuses alone", async () => {
    // A rule the schema does not know, as a newer migration could add.
    await query(database.url, "ALTER TABLE group_message_receipts ADD CONSTRAINT no_g3 CHECK (group_id <> 'g3')");
    try {
      const packets = Array.from({ length: 7 }, (_, i) => good(i));
      await countingWriter().writer.write(packets);
      expect(await count("group_message_receipts")).toBe(6);
      expect(await query(database.url, "SELECT reason, sql_state, payload_text FROM quarantined_callbacks")).toEqual([
        { reason: "rejected_by_database", sql_state: "23514", payload_text: JSON.stringify(fromWire(packets[3])) },
      ]);
    } finally {
      await query(database.url, "ALTER TABLE group_message_receipts DROP CONSTRAINT no_g3");
    }
  });

  it("writes a whole batch in one transaction when nothing is wrong", async () => {
    const { writer, stats } = countingWriter();
    await writer.write(Array.from({ length: 500 }, (_, i) => good(i)));
    expect(stats).toEqual({ transactions: 1, failed: 0, quarantined: 0 });
    expect(await count("group_message_receipts")).toBe(500);
  });

  it("keeps each of several culprits apart and applies everything else", async () => {
    const bad = new Set([3, 4, 97, 311]);
    const packets = Array.from({ length: 400 }, (_, i) => (bad.has(i) ? culprits["22021 (NUL in text)"]!(i) : good(i)));
    const { writer, stats } = countingWriter();
    await writer.write(packets);
    expect(await count("group_message_receipts")).toBe(396);
    expect(stats.quarantined).toBe(4);
    expect(await count("quarantined_callbacks")).toBe(4);
  });

  it("quarantines nothing on a dropped connection, and rejects so the job is retried", async () => {
    let calls = 0;
    const { writer, stats } = countingWriter({
      apply: async (packets) => {
        calls += 1;
        // The first transaction loses its connection half-way, as in a failover.
        if (calls === 1)
          await database.db.$transaction([
            database.db.$executeRawUnsafe("SELECT 1"),
            database.db.$executeRawUnsafe("SELECT pg_terminate_backend(pg_backend_pid())"),
          ]);
        await applyWirePackets(database.db, packets);
      },
    });
    const packets = Array.from({ length: 50 }, (_, i) => good(i));
    await expect(writer.write(packets)).rejects.toThrow(/Connection terminated|terminating connection/);
    expect(stats).toEqual({ transactions: 1, failed: 1, quarantined: 0 });
    expect(await count("group_message_receipts")).toBe(0);

    // The retry gets a fresh connection from the pool and writes everything.
    await writer.write(packets);
    expect(await count("group_message_receipts")).toBe(50);
    expect(await count("quarantined_callbacks")).toBe(0);
  });

  it("counts the same callback quarantined again as another attempt, not another row", async () => {
    const culprit = culprits["22021 (NUL in text)"]!(1);
    const { writer } = countingWriter();
    await writer.write([culprit, good(2)]);
    await writer.write([culprit]);
    expect(
      await query(database.url, "SELECT attempts, payload IS NULL AS no_jsonb FROM quarantined_callbacks"),
    ).toEqual([{ attempts: 2, no_jsonb: true }]);
  });
});

describe("BatchWriter, when the server is at fault", () => {
  // A trigger stands in for a server fault with an SQLSTATE no list names (XX002: a corrupted index).
  const fault = (condition: string) => `
    CREATE OR REPLACE FUNCTION fail_reader() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF ${condition} THEN RAISE EXCEPTION 'index is corrupted' USING ERRCODE = 'XX002'; END IF; RETURN NEW; END $$;
    CREATE TRIGGER fail_reader BEFORE INSERT ON group_message_readers FOR EACH ROW EXECUTE FUNCTION fail_reader();`;
  const dropFault =
    "DROP TRIGGER IF EXISTS fail_reader ON group_message_readers; DROP TRIGGER IF EXISTS slow_receipt ON group_message_receipts";

  it("quarantines nothing and retries when an unclassified error fails every part of the batch", async () => {
    await query(database.url, fault("true"));
    try {
      const { writer, stats } = countingWriter();
      await expect(writer.write(Array.from({ length: 40 }, (_, i) => good(i)))).rejects.toThrow(/index is corrupted/);
      expect(stats.quarantined).toBe(0);
      expect(await count("quarantined_callbacks")).toBe(0);
    } finally {
      await query(database.url, dropFault);
    }
  });

  it("quarantines the one callback an unclassified error follows, when the rest commits", async () => {
    await query(database.url, fault("NEW.member_account = 'u17'"));
    try {
      const { writer } = countingWriter();
      await writer.write(Array.from({ length: 40 }, (_, i) => good(i)));
      expect(await count("group_message_receipts")).toBe(39);
      expect(
        await query(
          database.url,
          "SELECT sql_state, payload->'receipt'->>'EventTime' AS event FROM quarantined_callbacks",
        ),
      ).toEqual([{ sql_state: "XX002", event: "1017" }]);
    } finally {
      await query(database.url, dropFault);
    }
  });

  it("splits a batch too slow for the statement deadline until its parts commit, and quarantines nothing", async () => {
    const slowDb = createDatabase({ databaseUrl: database.url, poolMax: 2, statementTimeoutMs: 400 });
    await query(
      database.url,
      `
      CREATE OR REPLACE FUNCTION slow_receipt() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.01); RETURN NEW; END $$;
      CREATE TRIGGER slow_receipt BEFORE INSERT ON group_message_receipts FOR EACH ROW EXECUTE FUNCTION slow_receipt();`,
    );
    try {
      const { writer, stats } = countingWriter({
        apply: async (packets) => void (await applyWirePackets(slowDb, packets)),
      });
      await writer.write(Array.from({ length: 100 }, (_, i) => good(i)));
      expect(await count("group_message_receipts")).toBe(100);
      expect(stats.quarantined).toBe(0);
      expect(stats.failed).toBeGreaterThan(0);
    } finally {
      await query(database.url, dropFault);
      await slowDb.$disconnect();
    }
  });
});

describe("classifyDbError", () => {
  const withState = (code: string) =>
    Object.assign(new Error(`failed with ${code}`), {
      meta: { driverAdapterError: { cause: { originalCode: code } } },
    });

  it.each([
    ["21000", "data"],
    ["22001", "data"],
    ["22P02", "data"],
    ["23505", "data"],
    ["23502", "data"],
    ["40001", "transient"],
    ["40P01", "transient"],
    ["53300", "transient"],
    ["57P01", "transient"],
    ["57014", "timeout"],
    ["08006", "transient"],
    ["55P03", "transient"],
    ["25P03", "transient"],
    ["42P01", "transient"],
    ["XX000", "unknown"],
    ["P0001", "unknown"],
  ])("takes SQLSTATE %s as %s", (code, kind) => {
    expect(classifyDbError(withState(code))).toMatchObject({ kind, sqlState: code });
  });

  it("takes a failure without SQLSTATE (a broken socket, a deadline) as transient", () => {
    expect(classifyDbError(Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }))).toMatchObject({
      kind: "transient",
      sqlState: null,
    });
    expect(classifyDbError(new Error("Connection terminated unexpectedly"))).toMatchObject({
      kind: "transient",
      sqlState: null,
    });
    // Prisma's own codes are no SQLSTATE: P2028 means no connection was free in time.
    const noConnection = Object.assign(
      new Error("Transaction API error: Unable to start a transaction in the given time."),
      { code: "P2028", clientVersion: "7.10.1" },
    );
    expect(classifyDbError(noConnection)).toMatchObject({ kind: "transient", sqlState: null });
    const expired = Object.assign(
      new Error(
        "Transaction API error: A commit cannot be executed on an expired transaction. The timeout for this transaction was 5000 ms",
      ),
      { code: "P2028" },
    );
    expect(classifyDbError(expired)).toMatchObject({ kind: "timeout" });
  });

  it("reads the SQLSTATE of a node-postgres error", () => {
    const pgError = Object.assign(new Error("deadlock detected"), { code: "40P01", severity: "ERROR" });
    expect(classifyDbError(pgError)).toMatchObject({ kind: "transient", sqlState: "40P01" });
  });

  it("reads the SQLSTATE of a real failure through Prisma", async () => {
    const error = await database.db.$executeRawUnsafe("SELECT 'abc'::int").catch((e: unknown) => e);
    expect(classifyDbError(error)).toMatchObject({ kind: "data", sqlState: "22P02" });
  });

  it("reads the SQLSTATE of a real failure through the driver adapter (the worker's write path)", async () => {
    const error = await executeStatement(database.db, "SELECT $1::int", ["abc"]).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "DriverAdapterError" });
    expect(classifyDbError(error)).toMatchObject({ kind: "data", sqlState: "22P02" });
    const deadlock = await executeStatement(
      database.db,
      "DO $$ BEGIN RAISE EXCEPTION 'deadlock detected' USING ERRCODE = '40P01'; END $$",
      [],
    ).catch((e: unknown) => e);
    expect(classifyDbError(deadlock)).toMatchObject({ kind: "transient", sqlState: "40P01" });
  });
});
