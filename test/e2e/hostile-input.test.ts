import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  APP_ID,
  callbackQuery,
  compareWithDatabase,
  expectedState,
  query,
  receiptBody,
  type Stack,
  startStack,
  type TestDatabase,
  waitFor,
} from "@receipt-sync/testing";

/** Hostile and broken input against the real processes: a clear JSON error, nothing stored, process unharmed. */
let stack: Stack;
let db: TestDatabase;
let base: string;

beforeAll(async () => {
  stack = await startStack();
  ({ db, base } = stack);
});
afterAll(() => stack?.stop());

async function postRaw(body: string | Buffer, query = callbackQuery()) {
  const res = await fetch(`${base}/callback?${query}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  const text = await res.text();
  return {
    status: res.status,
    contentType: res.headers.get("content-type") ?? "",
    body: JSON.parse(text) as { ActionStatus: string; ErrorCode: number; ErrorInfo: string },
  };
}

/** Posts a valid marker and waits for it: everything posted before it has been handled by then. */
async function settle(): Promise<void> {
  const seq = Date.now();
  expect(
    (
      await postRaw(
        JSON.stringify(receiptBody({ groupId: "marker", eventTimeMs: seq, messages: [{ seq, read: 1, unread: 0 }] })),
      )
    ).status,
  ).toBe(200);
  await waitFor(
    "marker row",
    async () =>
      (await query(db.url, "SELECT 1 FROM group_message_receipts WHERE group_id = 'marker' AND msg_seq = $1", [seq]))
        .length === 1,
  );
}

const valid = (groupId: string) =>
  receiptBody({ groupId, eventTimeMs: 1_700_000_000_000, messages: [{ seq: 1, read: 1, unread: 1, readers: ["a"] }] });

describe("hostile input", () => {
  const cases: [string, string | Buffer, number][] = [
    ["truncated JSON", JSON.stringify(valid("h-trunc")).slice(0, 60), 400],
    ["deeply nested JSON", `${"[".repeat(100_000)}${"]".repeat(100_000)}`, 400],
    ["wrong types", JSON.stringify({ ...valid("h-types"), GroupMsgReceiptList: "all of them" }), 400],
    [
      "a fractional count",
      JSON.stringify({ ...valid("h-frac"), GroupMsgReceiptList: [{ MsgSeq: 1, ReadNum: 0.5, UnreadNum: 1 }] }),
      400,
    ],
    [
      "MsgSeq beyond 2^53",
      `{"CallbackCommand":"Group.CallbackAfterReadReceipt","GroupId":"h-big","Type":"Public","GroupMsgReceiptList":[{"MsgSeq":9007199254740993,"ReadNum":1,"UnreadNum":0}],"EventTime":1}`,
      400,
    ],
    ["EventTime garbage", JSON.stringify({ ...valid("h-time"), EventTime: "yesterday" }), 400],
    [
      "missing fields",
      JSON.stringify({ CallbackCommand: "Group.CallbackAfterReadReceipt", GroupId: "h-missing" }),
      400,
    ],
    [
      "10,000 readers on one message",
      JSON.stringify({
        ...valid("h-readers"),
        GroupMsgReceiptList: [
          {
            MsgSeq: 1,
            ReadNum: 1,
            UnreadNum: 0,
            ReadReceiptMembers: Array.from({ length: 10_000 }, (_, i) => ({ Member_Account: `u${i}` })),
          },
        ],
      }),
      400,
    ],
    ["a body over 1 MiB", JSON.stringify({ ...valid("h-huge"), pad: "x".repeat(1024 * 1024) }), 413],
    [
      "invalid UTF-8",
      Buffer.concat([
        Buffer.from(JSON.stringify(valid("h-utf8")).slice(0, -2)),
        Buffer.from([0xff, 0xfe]),
        Buffer.from('"}'),
      ]),
      400,
    ],
  ];

  it.each(cases)("answers %s with a JSON error and stores nothing", async (_name, body, status) => {
    const reply = await postRaw(body);
    expect(reply.status).toBe(status);
    expect(reply.contentType).toContain("application/json");
    expect(reply.body).toMatchObject({ ActionStatus: "FAIL" });
    expect(reply.body.ErrorInfo.length).toBeGreaterThan(0);
  });

  it("answers missing, repeated and foreign query parameters with JSON errors", async () => {
    const body = JSON.stringify(valid("h-query"));
    expect((await postRaw(body, "")).status).toBe(400);
    expect((await postRaw(body, `${callbackQuery()}&CallbackCommand=Group.CallbackAfterReadReceipt`)).status).toBe(400);
    expect((await postRaw(body, callbackQuery({ SdkAppid: "1400000999" }))).status).toBe(403);
  });

  it("names where a body stops being JSON, and echoes none of it in the reply or the log", async () => {
    for (const body of ['{"secret-marker-1": }', '{"secret-marker-2": 1', '{"secret-marker-3": 1 x']) {
      const reply = await postRaw(body);
      expect(reply.status).toBe(400);
      expect(reply.body.ErrorInfo).toMatch(/^body is not valid JSON/);
      expect(reply.body.ErrorInfo).not.toContain("secret-marker");
    }
    await waitFor("the rejections in the log", () => stack.ingest.output().includes("body is not valid JSON"));
    expect(stack.ingest.output()).not.toContain("secret-marker");
  });

  it("stored none of it and is still up", async () => {
    await settle();
    expect(await query(db.url, "SELECT group_id FROM read_receipt_events WHERE group_id LIKE 'h-%'")).toEqual([]);
    expect(stack.ingest.child.exitCode).toBeNull();
    expect(stack.worker.child.exitCode).toBeNull();
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });
});

describe("any generated packet", () => {
  // Mostly valid values with a few broken ones mixed in, so both outcomes occur often.
  const often = <T>(arbitrary: fc.Arbitrary<T>) => ({ weight: 30, arbitrary });
  const text = fc.oneof(
    often(fc.string({ minLength: 1, maxLength: 12, unit: "grapheme" })),
    fc.constant(""),
    fc.constant("a\u0000b"),
    fc.integer(),
  );
  const count = fc.oneof(
    often(fc.integer({ min: 0, max: 300 })),
    fc.integer({ min: -5, max: -1 }),
    fc.double({ min: 0.1, max: 5, noInteger: true }),
    fc.constant("3"),
  );
  const seq = fc.oneof(often(fc.integer({ min: 0, max: 2 ** 40 })), fc.constant(-1), fc.constant(1.5));
  const eventTime = fc.oneof(
    often(fc.integer({ min: 1, max: 2_000_000_000_000 })),
    often(fc.integer({ min: 1, max: 2_000_000_000_000 }).map(String)),
    fc.constant("soon"),
    fc.constant(0),
  );
  const message = fc.record(
    {
      MsgSeq: seq,
      ReadNum: count,
      UnreadNum: count,
      ReadReceiptMembers: fc.array(fc.record({ Member_Account: text }), { maxLength: 4 }),
    },
    { requiredKeys: ["MsgSeq", "ReadNum", "UnreadNum"] },
  );
  const packet = fc.record(
    {
      Type: text,
      GroupMsgReceiptList: fc.array(message, { minLength: 1, maxLength: 3 }),
      EventTime: eventTime,
      Extra: fc.anything(),
    },
    { requiredKeys: ["Type", "GroupMsgReceiptList", "EventTime"] },
  );

  it("is either accepted and stored exactly, or rejected with nothing stored", async () => {
    let sample = 0;
    const outcomes = { accepted: 0, rejected: 0 };
    await fc.assert(
      fc.asyncProperty(packet, async (generated) => {
        const groupId = `prop-${sample++}`;
        const body = { CallbackCommand: "Group.CallbackAfterReadReceipt", GroupId: groupId, ...generated };
        const reply = await postRaw(JSON.stringify(body));
        if (reply.status === 200) {
          outcomes.accepted += 1;
          const parsed = { ...body, EventTime: Number(body.EventTime) } as never;
          const expected = expectedState([
            { sdkAppId: APP_ID, clientIp: null, optPlatform: null, receivedAtMs: 0, receipt: parsed },
          ]);
          await waitFor(`${groupId} rows`, async () => (await compareWithDatabase(db.url, expected)).lost === 0, {
            timeoutMs: 5000,
          });
          const rows = await query<{ n: number }>(
            db.url,
            "SELECT count(*)::int AS n FROM group_message_receipts WHERE group_id = $1",
            [groupId],
          );
          expect(rows[0]!.n).toBe(expected.receipts.size);
          const comparison = await compareWithDatabase(db.url, expected);
          expect({ lost: comparison.lost, wrong: comparison.wrong }).toEqual({ lost: 0, wrong: 0 });
        } else {
          outcomes.rejected += 1;
          expect(reply.status).toBe(400);
          expect(reply.body.ActionStatus).toBe("FAIL");
        }
      }),
      { numRuns: 60, seed: 20261125 },
    );
    await settle();
    const rejectedStored = await query(
      db.url,
      "SELECT DISTINCT group_id FROM read_receipt_events WHERE group_id LIKE 'prop-%'",
    );
    expect(rejectedStored).toHaveLength(outcomes.accepted);
    expect(outcomes.accepted).toBeGreaterThan(5);
    expect(outcomes.rejected).toBeGreaterThan(5);
  });
});
