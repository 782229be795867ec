import { applyReceipts, createDatabase } from "@receipt-sync/db";
import { afterEach, describe, expect, it } from "vitest";
import {
  FakeTencent,
  type FakeTencentOptions,
  packetOf,
  query,
  readCopy,
  seedFake,
  useTestDatabase,
} from "@receipt-sync/testing";
import { CallBudget, realClock } from "./call-budget.js";
import { runPass, type PassOptions } from "./run-pass.js";
import { TencentClient } from "./tencent-client.js";
import { UserSigCache } from "./user-sig-cache.js";

const APP = "1400000042";
const KEY = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const BUDGET = 100;

let fake: FakeTencent;

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
afterEach(() => fake?.close());

async function startFake(
  options: Partial<FakeTencentOptions> = {},
  groups = 4,
  messages = 6,
): Promise<Record<string, unknown>[]> {
  fake = await FakeTencent.start({ apps: { [APP]: KEY }, ...options });
  return seedFake(fake, {
    sdkAppId: APP,
    groups,
    messagesPerGroup: messages,
    startMs: Date.now() - 6 * 3600_000,
    seed: 7,
  }).callbacks;
}

function client(overrides: { secretKey?: string } = {}) {
  const userSig = new UserSigCache({
    sdkAppId: APP,
    secretKey: overrides.secretKey ?? KEY,
    identifier: "administrator",
    nowMs: Date.now,
  });
  const tencent = new TencentClient({
    baseUrl: fake.url,
    sdkAppId: APP,
    identifier: "administrator",
    userSig,
    budget: new CallBudget(BUDGET),
    timeoutMs: 300,
    maxAttempts: 5,
    retryBaseMs: 20,
    clock: realClock,
    nowMs: Date.now,
  });
  return { tencent, userSig };
}

const pass = (tencent: TencentClient, options: Partial<PassOptions> = {}) =>
  runPass(
    { db: database.db, client: tencent, nowMs: Date.now },
    { sdkAppId: APP, sinceMs: Date.now() - 24 * 3600_000, ...options },
  );

/** Delivers every `keep`-th callback to the tables, as if the rest were lost. */
async function deliverSome(callbacks: Record<string, unknown>[], keep = 3): Promise<void> {
  await applyReceipts(
    database.db,
    callbacks.filter((_, i) => i % keep === 0).map((body) => packetOf(APP, body)),
  );
}

describe("a reconcile pass", () => {
  it("repairs lost callbacks so the tables equal Tencent's truth, and a second pass finds nothing", async () => {
    await deliverSome(await startFake());
    const { tencent } = client();
    const first = await pass(tencent);
    expect(first.stopped).toBeUndefined();
    expect(first.differences.length).toBeGreaterThan(0);
    expect(first.repaired).toBe(first.differences.length);
    expect(await readCopy(database.url, APP)).toEqual(fake.truth(APP));
    const [audit] = await query<{ n: number }>(database.url, "SELECT count(*)::int AS n FROM reconcile_repairs");
    expect(audit!.n).toBe(first.repaired);

    const second = await pass(tencent);
    expect(second).toMatchObject({ differences: [], repaired: 0, skips: [] });
    expect(second.checked).toBe(fake.truth(APP).length);
    expect(fake.exceeded(BUDGET)).toEqual([]);
  });

  it("in a dry run reports the same differences and changes nothing", async () => {
    await deliverSome(await startFake());
    const before = await readCopy(database.url, APP);
    const dry = await pass(client().tencent, { dryRun: true });
    expect(dry.differences.length).toBeGreaterThan(0);
    expect(dry.differences.every((d) => !d.repaired)).toBe(true);
    expect(await readCopy(database.url, APP)).toEqual(before);
    const applied = await pass(client().tencent);
    // Groups are checked several at once, so the order of the reports may differ between passes.
    const keys = (report: typeof dry) => report.differences.map((d) => `${d.groupId}#${d.msgSeq}`).sort();
    expect(keys(applied)).toEqual(keys(dry));
  });

  it("finds messages no callback ever told us of: newer ones, gaps, and older ones in the window", async () => {
    const callbacks = await startFake({}, 1, 30);
    // Keep only callbacks of messages 10 to 20 (and not all of those): 1-9 and 21-30 are unknown.
    const middle = callbacks.filter((c) =>
      (c.GroupMsgReceiptList as { MsgSeq: number }[]).every((m) => m.MsgSeq >= 10 && m.MsgSeq <= 20),
    );
    await applyReceipts(
      database.db,
      middle.filter((_, i) => i % 2 === 0).map((body) => packetOf(APP, body)),
    );
    const report = await pass(client().tencent);
    expect(await readCopy(database.url, APP)).toEqual(fake.truth(APP));
    expect(report.noReceipt).toBeGreaterThan(0);
  });
});

describe("a group named by hand", () => {
  it("is checked even when no callback of it ever arrived, which a pass over the app cannot know of", async () => {
    await startFake({}, 2, 5);
    const overApp = await pass(client().tencent);
    expect(overApp).toMatchObject({ groups: 0, checked: 0 });
    const named = await pass(client().tencent, { groupId: "@TGS#fake1" });
    expect(named.stopped).toBeUndefined();
    const inGroup = (rows: { groupId: string }[]) => rows.filter((r) => r.groupId === "@TGS#fake1");
    expect(await readCopy(database.url, APP)).toEqual(inGroup(fake.truth(APP)));
  });
});

describe("a reconcile pass as an API citizen", () => {
  it.each([
    ["rate-limit codes", [60007, 60011, 60018, 60019]],
    ["timeout and internal-error codes", [60008, 10002]],
  ])("backs off on %s and completes", async (_, codes) => {
    await deliverSome(await startFake());
    for (const errorCode of codes) fake.inject({ api: "get_group_msg_receipt", errorCode });
    fake.inject({ api: "get_group_msg_receipt_detail", errorCode: codes[0]!, times: 2 });
    const report = await pass(client().tencent);
    expect(report.stopped).toBeUndefined();
    expect(await readCopy(database.url, APP)).toEqual(fake.truth(APP));
    expect(fake.calls.filter((c) => codes.includes(c.errorCode))).toHaveLength(codes.length + 2);
  });

  it("retries an HTTP 502 and an answer slower than the deadline", async () => {
    await deliverSome(await startFake());
    fake.inject({ api: "get_group_info", httpStatus: 502 });
    fake.inject({ api: "get_group_msg_receipt", delayMs: 1000 });
    const report = await pass(client().tencent);
    expect(report.stopped).toBeUndefined();
    expect(await readCopy(database.url, APP)).toEqual(fake.truth(APP));
  });

  it("stops the pass, leaving the tables as they are, when an API keeps refusing", async () => {
    await deliverSome(await startFake());
    fake.inject({ api: "get_group_msg_receipt", errorCode: 60007, times: 100 });
    const report = await pass(client().tencent);
    expect(report.stopped).toMatchObject({ kind: "gave_up", api: "get_group_msg_receipt", code: 60007 });
    // Four groups in flight, five tries each at most; the stop ends the others' tries.
    expect(report.calls.get_group_msg_receipt).toBeLessThanOrEqual(4 * 5);
    expect(report.differences).toEqual([]);
  });

  it("makes a new UserSig once on 70001 and goes on", async () => {
    await deliverSome(await startFake());
    fake.inject({ api: "get_group_info", errorCode: 70001 });
    const { tencent, userSig } = client();
    const report = await pass(tencent);
    expect(report.stopped).toBeUndefined();
    expect(userSig.issued).toBe(2);
    expect(await readCopy(database.url, APP)).toEqual(fake.truth(APP));
  });

  it("stops as a configuration error when a new UserSig is refused as expired too", async () => {
    await startFake();
    await applyReceipts(
      database.db,
      [packetOf(APP, fake.read(APP, "@TGS#fake0", "late-reader", [1], Date.now()) ?? {})].filter(Boolean),
    );
    fake.inject({ api: "get_group_info", errorCode: 70001, times: 2 });
    const report = await pass(client().tencent);
    expect(report.stopped).toMatchObject({ kind: "configuration", code: 70001 });
  });

  it("stops at once on a wrong SecretKey", async () => {
    await deliverSome(await startFake());
    const report = await pass(client({ secretKey: "not-the-key" }).tencent);
    expect(report.stopped).toMatchObject({ kind: "configuration", api: "get_group_info", code: 70009 });
    expect(fake.calls).toHaveLength(1);
  });

  it("records a group that is gone (10010) and skips it, and repairs the others", async () => {
    await deliverSome(await startFake());
    fake.deleteGroup(APP, "@TGS#fake1");
    fake.inject({ api: "get_group_msg_receipt", errorCode: 10010, groupId: "@TGS#fake2" });
    const report = await pass(client().tencent);
    expect(report.stopped).toBeUndefined();
    const skips = await query<{ group_id: string; msg_seq: string | null; api: string; error_code: number }>(
      database.url,
      "SELECT group_id, msg_seq::text, api, error_code FROM reconcile_skips ORDER BY group_id",
    );
    expect(skips).toEqual([
      { group_id: "@TGS#fake1", msg_seq: null, api: "get_group_info", error_code: 10010 },
      { group_id: "@TGS#fake2", msg_seq: null, api: "get_group_msg_receipt", error_code: 10010 },
    ]);
    const copy = await readCopy(database.url, APP);
    const others = (rows: { groupId: string }[]) =>
      rows.filter((r) => r.groupId === "@TGS#fake0" || r.groupId === "@TGS#fake3");
    expect(others(copy)).toEqual(others(fake.truth(APP)));
  });

  it("records and skips a message whose readers Postgres could not store as given, and repairs the rest", async () => {
    await startFake({}, 1, 3);
    const [first, second] = fake.truth(APP);
    fake.group(APP, first!.groupId).members.push("x\ud800");
    fake.read(APP, first!.groupId, "x\ud800", [first!.msgSeq], Date.now() - 1000);
    await applyReceipts(database.db, [
      packetOf(APP, {
        CallbackCommand: "Group.CallbackAfterReadReceipt",
        GroupId: first!.groupId,
        Type: "Public",
        GroupMsgReceiptList: [{ MsgSeq: second!.msgSeq, ReadNum: 0, UnreadNum: 0 }],
        EventTime: Date.now() - 500,
      }),
    ]);
    const report = await pass(client().tencent);
    expect(report.skips).toEqual([
      expect.objectContaining({
        groupId: first!.groupId,
        msgSeq: first!.msgSeq,
        api: "get_group_msg_receipt_detail",
        errorCode: -1,
      }),
    ]);
    const copy = await readCopy(database.url, APP);
    expect(copy.find((r) => r.msgSeq === first!.msgSeq)).toBeUndefined();
    expect(copy.filter((r) => r.msgSeq !== first!.msgSeq)).toEqual(
      fake.truth(APP).filter((r) => r.msgSeq !== first!.msgSeq),
    );
  });

  it.each(["IsFinish", "IsFinished"] as const)("reads the readers' finished flag spelled %s", async (finishedFlag) => {
    await startFake({ finishedFlag, cursorOnLastPage: true }, 1, 1);
    const group = fake.createGroup(APP, "flag", { members: Array.from({ length: 13 }, (_, i) => `m${i}`) });
    const exact = fake.sendMessage(APP, "flag", { from: "m0", timeMs: Date.now() - 60_000 });
    const paged = fake.sendMessage(APP, "flag", { from: "m0", timeMs: Date.now() - 50_000 });
    for (const member of group.members.slice(1, 6)) fake.read(APP, "flag", member, [exact], Date.now() - 40_000);
    for (const member of group.members.slice(1)) fake.read(APP, "flag", member, [paged], Date.now() - 30_000);
    // One callback with no readers listed: the pass finds both messages lacking every reader.
    await applyReceipts(database.db, [
      packetOf(APP, {
        CallbackCommand: "Group.CallbackAfterReadReceipt",
        GroupId: "flag",
        Type: "Public",
        GroupMsgReceiptList: [
          { MsgSeq: exact, ReadNum: 0, UnreadNum: 12 },
          { MsgSeq: paged, ReadNum: 0, UnreadNum: 12 },
        ],
        EventTime: Date.now() - 45_000,
      }),
    ]);
    const report = await pass(client().tencent, { groupId: "flag", detailPageSize: 5 });
    // 5 readers in pages of 5: one page, and the flag ends it; 12 readers: pages of 5, 5 and 2.
    expect(report.calls.get_group_msg_receipt_detail).toBe(1 + 3);
    expect((await readCopy(database.url, APP)).filter((r) => r.groupId === "flag")).toEqual(
      fake.truth(APP).filter((r) => r.groupId === "flag"),
    );
  });
});
