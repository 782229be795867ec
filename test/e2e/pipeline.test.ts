import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  APP_ID,
  callbackQuery,
  createTestDatabase,
  dropQueue,
  freePort,
  openQueue,
  query,
  receiptBody,
  REPO_ROOT,
  type Stack,
  startApp,
  startStack,
  TEST_REDIS_URL,
  type TestDatabase,
  uniquePrefix,
  waitFor,
  waitForHttp,
} from "@receipt-sync/testing";

/** The built ingest and worker as real processes, talking over real Redis and Postgres. */
let stack: Stack;
let testDb: TestDatabase;
let base: string;

beforeAll(async () => {
  stack = await startStack();
  ({ db: testDb, base } = stack);
});
afterAll(() => stack?.stop());

async function post(body: object, query = callbackQuery()): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${base}/callback?${query}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

type ReceiptRow = { read_num: number; unread_num: number; event_ms: string };

async function receipt(groupId: string, seq: number | bigint): Promise<ReceiptRow | undefined> {
  const [row] = await query<ReceiptRow>(
    testDb.url,
    `SELECT read_num, unread_num, (extract(epoch from event_time) * 1000)::bigint::text AS event_ms
       FROM group_message_receipts WHERE sdk_app_id = $1 AND group_id = $2 AND msg_seq = $3`,
    [APP_ID, groupId, String(seq)],
  );
  return row;
}

async function readers(groupId: string, seq: number | bigint): Promise<{ member_account: string; read_ms: string }[]> {
  return query(
    testDb.url,
    `SELECT member_account, (extract(epoch from read_at) * 1000)::bigint::text AS read_ms
       FROM group_message_readers WHERE group_id = $1 AND msg_seq = $2 ORDER BY member_account`,
    [groupId, String(seq)],
  );
}

async function ledgerCount(groupId: string): Promise<number> {
  const [row] = await query<{ n: number }>(
    testDb.url,
    "SELECT count(*)::int AS n FROM read_receipt_events WHERE group_id = $1",
    [groupId],
  );
  return row!.n;
}

/** Posts a marker event and waits for it: everything the worker took before it is then written too. */
async function settle(groupId: string): Promise<void> {
  const marker = Date.now();
  expect(
    (
      await post(
        receiptBody({
          groupId: `${groupId}-marker`,
          eventTimeMs: marker,
          messages: [{ seq: marker, read: 1, unread: 0 }],
        }),
      )
    ).status,
  ).toBe(200);
  await waitFor("marker to be written", () => receipt(`${groupId}-marker`, marker), { timeoutMs: 5000 });
}

const OK = { ActionStatus: "OK", ErrorInfo: "", ErrorCode: 0 };

describe("receipt pipeline, end to end", () => {
  it("makes a posted receipt visible in Postgres within a second", async () => {
    const body = receiptBody({
      groupId: "e2e-fast",
      eventTimeMs: "1670574414123",
      messages: [{ seq: 1, read: 1, unread: 6, readers: ["user0"] }],
    });
    expect(await post(body)).toEqual({ status: 200, body: OK });
    const ackedMs = Date.now();
    const row = await waitFor("receipt row", () => receipt("e2e-fast", 1), { timeoutMs: 1000, intervalMs: 10 });
    expect(Date.now() - ackedMs).toBeLessThan(1000);
    expect(row).toEqual({ read_num: 1, unread_num: 6, event_ms: "1670574414123" });
    expect(await readers("e2e-fast", 1)).toEqual([{ member_account: "user0", read_ms: "1670574414123" }]);
  });

  it("applies a callback delivered many times, one after another and at once, exactly once", async () => {
    const body = receiptBody({
      groupId: "e2e-dup",
      eventTimeMs: 1_700_000_000_000,
      messages: [{ seq: 3, read: 2, unread: 1, readers: ["a", "b"] }],
    });
    for (let i = 0; i < 3; i++) expect((await post(body)).status).toBe(200);
    const concurrent = await Promise.all(Array.from({ length: 30 }, () => post(body)));
    expect(concurrent.every((r) => r.status === 200)).toBe(true);
    await settle("e2e-dup");
    expect(await receipt("e2e-dup", 3)).toEqual({ read_num: 2, unread_num: 1, event_ms: "1700000000000" });
    expect((await readers("e2e-dup", 3)).map((r) => r.member_account)).toEqual(["a", "b"]);
    expect(await ledgerCount("e2e-dup")).toBe(1);
  });

  it("keeps the newer counts when an older event arrives late, and unions the readers", async () => {
    const newer = receiptBody({
      groupId: "e2e-order",
      eventTimeMs: 2_000_000,
      messages: [{ seq: 8, read: 3, unread: 0, readers: ["b", "c"] }],
    });
    const older = receiptBody({
      groupId: "e2e-order",
      eventTimeMs: 1_000_000,
      messages: [{ seq: 8, read: 1, unread: 2, readers: ["a"] }],
    });
    expect((await post(newer)).status).toBe(200);
    await waitFor("newer event", () => receipt("e2e-order", 8));
    expect((await post(older)).status).toBe(200);
    await waitFor("older reader", async () => (await readers("e2e-order", 8)).length === 3);
    expect(await receipt("e2e-order", 8)).toEqual({ read_num: 3, unread_num: 0, event_ms: "2000000" });
    expect(await readers("e2e-order", 8)).toEqual([
      { member_account: "a", read_ms: "1000000" },
      { member_account: "b", read_ms: "2000000" },
      { member_account: "c", read_ms: "2000000" },
    ]);
  });

  it("counts two different events of the same millisecond: readers merged, larger ReadNum wins", async () => {
    const first = receiptBody({
      groupId: "e2e-samems",
      eventTimeMs: 5_000_000,
      messages: [{ seq: 1, read: 2, unread: 3, readers: ["x"] }],
    });
    const second = receiptBody({
      groupId: "e2e-samems",
      eventTimeMs: "5000000",
      messages: [{ seq: 1, read: 1, unread: 4, readers: ["y"] }],
    });
    await Promise.all([post(first), post(second)]);
    await waitFor("both readers", async () => (await readers("e2e-samems", 1)).length === 2);
    expect(await receipt("e2e-samems", 1)).toEqual({ read_num: 2, unread_num: 3, event_ms: "5000000" });
  });

  it("stores MsgSeq beyond 2^32 and non-ASCII accounts exactly", async () => {
    const seq = 2 ** 33 + 5;
    await post(
      receiptBody({
        groupId: "e2e-wide",
        eventTimeMs: 1_670_574_414_999,
        messages: [{ seq, read: 2, unread: 0, readers: ["张伟", "José🙂"] }],
      }),
    );
    await waitFor("wide row", () => receipt("e2e-wide", seq));
    expect((await readers("e2e-wide", seq)).map((r) => r.member_account).sort()).toEqual(["José🙂", "张伟"].sort());
  });

  it("answers errors from the real process with Tencent's envelope", async () => {
    const body = receiptBody({ groupId: "e2e-err", eventTimeMs: 1, messages: [{ seq: 1, read: 1, unread: 0 }] });
    expect(await post(body, callbackQuery({ SdkAppid: "1400000002" }))).toMatchObject({
      status: 403,
      body: { ActionStatus: "FAIL" },
    });
    expect(await post({ ...body, EventTime: "later" })).toMatchObject({ status: 400, body: { ActionStatus: "FAIL" } });
    expect(
      await post(
        { CallbackCommand: "Group.CallbackBeforeSendMsg" },
        callbackQuery({ CallbackCommand: "Group.CallbackBeforeSendMsg" }),
      ),
    ).toEqual({ status: 200, body: OK });
    await settle("e2e-err");
    expect(await ledgerCount("e2e-err")).toBe(0);
  });
});

describe("process lifecycle", () => {
  it("stops at start with one line naming a missing variable", async () => {
    const ingestNoApp = startApp("ingest", { REDIS_URL: TEST_REDIS_URL });
    const workerNoDb = startApp("worker", { REDIS_URL: TEST_REDIS_URL });
    expect(await ingestNoApp.exited).toBe(1);
    expect(await workerNoDb.exited).toBe(1);
    expect(ingestNoApp.output().trim()).toMatch(/^config error: SDKAPPID is required/);
    expect(ingestNoApp.output().trim().split("\n")).toHaveLength(1);
    expect(workerNoDb.output().trim()).toMatch(/^config error: DATABASE_URL is required/);
  });

  it("`npm start` runs ingest and worker together and stops both on SIGTERM", async () => {
    const db = await createTestDatabase();
    const port = await freePort();
    const ownPrefix = uniquePrefix();
    const child = spawn(process.execPath, ["scripts/start-all.mjs"], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? "",
        SDKAPPID: APP_ID,
        PORT: String(port),
        DATABASE_URL: db.url,
        REDIS_URL: TEST_REDIS_URL,
        QUEUE_PREFIX: ownPrefix,
        LOG_LEVEL: "warn",
      },
      stdio: "ignore",
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    try {
      await waitForHttp(`http://127.0.0.1:${port}/readyz`);
      const body = receiptBody({ groupId: "together", eventTimeMs: 42, messages: [{ seq: 1, read: 1, unread: 0 }] });
      const res = await fetch(`http://127.0.0.1:${port}/callback?${callbackQuery()}`, {
        method: "POST",
        body: JSON.stringify(body),
      });
      expect(res.status).toBe(200);
      await waitFor(
        "row from the combined process",
        async () =>
          (await query(db.url, "SELECT 1 FROM group_message_receipts WHERE group_id = 'together'")).length === 1,
      );
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    } finally {
      child.kill("SIGKILL");
      await dropQueue(openQueue(ownPrefix));
      await db.drop();
    }
  });
});
