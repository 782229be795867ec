import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, receiptPacket, TcpProxy, type TestDatabase } from "@receipt-sync/testing";
import { applyReceipts } from "./apply-receipts.js";
import pg from "pg";
import { createDatabase, executeStatement, type Database } from "./create-database.js";

let testDb: TestDatabase;
let proxy: TcpProxy;
let db: Database;

beforeAll(async () => {
  testDb = await createTestDatabase();
  const viaProxy = await TcpProxy.inFrontOf(testDb.url, 5432);
  proxy = viaProxy.proxy;
  db = createDatabase({ databaseUrl: viaProxy.url, poolMax: 2, transactionTimeoutMs: 800, statementTimeoutMs: 500 });
});
afterAll(async () => {
  await db.$disconnect();
  await proxy.close();
  await testDb.drop();
});

const packet = (i: number) =>
  receiptPacket({ groupId: "silent", eventTimeMs: i, messages: [{ seq: i, read: 1, unread: 0 }] });

describe("createDatabase", () => {
  it("fails a write whose connection went silent within the transaction deadline, and the retry uses a fresh connection", async () => {
    await applyReceipts(db, [packet(1)]); // both ends of the proxy are open and warm
    proxy.silenceOpen();
    const startedMs = performance.now();
    await expect(applyReceipts(db, [packet(2)])).rejects.toThrow();
    const waitedMs = performance.now() - startedMs;
    expect(waitedMs).toBeGreaterThanOrEqual(700);
    expect(waitedMs).toBeLessThan(3000);
    await expect(applyReceipts(db, [packet(3)])).resolves.toMatchObject({ messages: 1 });
  });

  it("lets Postgres cancel a statement that runs past the statement timeout", async () => {
    const error = await db.$executeRawUnsafe("SELECT pg_sleep(2)").catch((e: unknown) => e);
    expect(JSON.stringify(error)).toContain("57014");
  });

  it("reports what Postgres said when a statement through the driver adapter fails", async () => {
    const error = await executeStatement(db, "SELECT $1::int", ["99999999999"]).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/22003.*out of range for type integer/);
  });

  it("says which server could not be reached when a statement through the driver adapter finds none", async () => {
    const nowhere = createDatabase({ databaseUrl: "postgresql://postgres@127.0.0.1:1/none", connectTimeoutMs: 1000 });
    try {
      const error = await executeStatement(nowhere, "SELECT 1", []).catch((e: unknown) => e);
      expect((error as Error).message).toMatch(/DatabaseNotReachable.*127\.0\.0\.1:1\b/);
    } finally {
      await nowhere.$disconnect();
    }
  });

  it("closes the pool's connections on $disconnect when only executeStatement used them", async () => {
    const url = new URL(testDb.url);
    url.searchParams.set("application_name", "disconnect-test");
    const own = createDatabase({ databaseUrl: url.toString(), poolMax: 2 });
    await executeStatement(own, "SELECT $1::int", ["1"]);
    await own.$disconnect();
    const admin = new pg.Client({ connectionString: testDb.url });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = 'disconnect-test'",
      );
      expect(rows[0]!.n).toBe(0);
    } finally {
      await admin.end();
    }
  });
});
