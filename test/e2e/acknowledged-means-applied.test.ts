import { parse as parseQuery } from "node:querystring";
import { fromWire, parseReceiptPacket, toWire, type ReceiptPacket } from "@receipt-sync/protocol";
import { RECEIPT_JOB_NAME, RECEIPT_JOB_OPTIONS, stampOf, type ReceiptJobData } from "@receipt-sync/queue";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  APP_ID,
  compareWithDatabase,
  expectedState,
  dropQueue,
  failedJobCount,
  openQueue,
  query,
  type Stack,
  startStack,
  waitFor,
} from "@receipt-sync/testing";

/**
 * The promise, as a property over the whole input space and against the real processes:
 * every callback answered 200 is in Postgres exactly (counts, readers, ledger), every 4xx
 * stores nothing, and nothing ends in the failed set or in quarantine. Callbacks of one run
 * are posted at once, so they share jobs and batches.
 */
let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack?.stop());

const COMMAND = "Group.CallbackAfterReadReceipt";

// Any UTF-16 code unit: lone surrogates, NUL and other controls included.
const codeUnits = (maxLength: number) =>
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength });
const oddText = fc.oneof(
  { weight: 16, arbitrary: fc.string({ minLength: 1, maxLength: 12, unit: "grapheme" }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "👩🏽‍💻",
      "e\u0301\u0308",
      "مرحبا\u200f",
      "\u202eabc",
      "x\ud800",
      "x\udbff",
      "\udc00y",
      "a\u0000b",
      "\ufeff",
      "Ｕｓｅｒ",
    ),
  },
  { weight: 2, arbitrary: codeUnits(10) },
  { weight: 1, arbitrary: fc.constant("") },
  { weight: 1, arbitrary: fc.string({ minLength: 100, maxLength: 200 }) },
);

/** A query value as bytes on the wire: UTF-8, with lone surrogates written as their WTF-8 bytes. */
function percentEncode(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    const pair = unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
    const codePoint = pair >= 0xdc00 && pair <= 0xdfff ? 0x10000 + ((unit - 0xd800) << 10) + (pair - 0xdc00) : unit;
    if (codePoint > 0xffff) i += 1;
    for (const byte of utf8Bytes(codePoint)) out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

function utf8Bytes(cp: number): number[] {
  if (cp < 0x80) return [cp];
  if (cp < 0x800) return [0xc0 | (cp >> 6), 0x80 | (cp & 63)];
  if (cp < 0x10000) return [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63)];
  return [0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63)];
}

/** One query parameter: absent, empty, ordinary, long, odd Unicode, or given twice. */
const param = (ordinary: fc.Arbitrary<string>) =>
  fc.oneof(
    { weight: 12, arbitrary: ordinary.map((v) => [v]) },
    { weight: 1, arbitrary: fc.constant([] as string[]) },
    { weight: 1, arbitrary: fc.constant([""]) },
    { weight: 1, arbitrary: oddText.map((v) => [v]) },
    { weight: 1, arbitrary: fc.constant(["x".repeat(300)]) },
    { weight: 1, arbitrary: fc.tuple(ordinary, ordinary) },
  );

const queryArb = fc.record({
  SdkAppid: fc.oneof(
    { weight: 12, arbitrary: fc.constant([APP_ID]) },
    { weight: 1, arbitrary: param(fc.constant("1400000999")) },
  ),
  CallbackCommand: fc.oneof(
    { weight: 12, arbitrary: fc.constant([COMMAND]) },
    { weight: 1, arbitrary: fc.constant([] as string[]) },
    { weight: 1, arbitrary: fc.constant([""]) },
    { weight: 1, arbitrary: fc.constant(["Group.CallbackBeforeSendMsg"]) },
  ),
  contenttype: fc.oneof(fc.constant(["json"]), fc.constant([] as string[])),
  ClientIP: param(fc.constantFrom("203.0.113.7", "2001:db8::1", "::1")),
  OptPlatform: param(fc.constantFrom("RESTAPI", "iOS", "IOS", "Android", "Web", "Windows", "Unknown")),
});

const count = fc.oneof(
  { weight: 40, arbitrary: fc.integer({ min: 0, max: 300 }) },
  fc.constant(-1),
  fc.constant(2 ** 31),
);
const message = fc.record(
  {
    MsgSeq: fc.oneof({ weight: 40, arbitrary: fc.integer({ min: 0, max: 2 ** 40 }) }, fc.constant(-1)),
    ReadNum: count,
    UnreadNum: count,
    ReadReceiptMembers: fc.array(fc.record({ Member_Account: oddText }), { maxLength: 4 }),
  },
  { requiredKeys: ["MsgSeq", "ReadNum", "UnreadNum"] },
);
const bodyArb = fc.record({
  GroupSuffix: oddText,
  Type: fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom("Public", "Work", "Meeting", "ChatRoom", "Private") },
    { weight: 1, arbitrary: oddText },
  ),
  GroupMsgReceiptList: fc.array(message, { minLength: 0, maxLength: 3 }),
  EventTime: fc.oneof(
    fc.integer({ min: 1, max: 2_000_000_000_000 }),
    fc.integer({ min: 1, max: 2_000_000_000_000 }).map(String),
  ),
  Extra: fc.option(fc.jsonValue(), { nil: undefined }),
});
const callbackArb = fc.record({ query: queryArb, body: bodyArb });
type Generated = typeof callbackArb extends fc.Arbitrary<infer T> ? T : never;

function queryString(q: Generated["query"]): string {
  return (Object.entries(q) as [string, readonly string[]][])
    .flatMap(([key, values]) => values.map((value) => `${key}=${percentEncode(value)}`))
    .join("&");
}

// The two callbacks that broke the promise: an admin's REST read (empty ClientIP) and two
// readers whose names differ only in a lone surrogate.
const restRead: Generated = {
  query: {
    SdkAppid: [APP_ID],
    CallbackCommand: [COMMAND],
    contenttype: ["json"],
    ClientIP: [""],
    OptPlatform: ["RESTAPI"],
  },
  body: {
    GroupSuffix: "rest",
    Type: "Public",
    GroupMsgReceiptList: [
      { MsgSeq: 7, ReadNum: 2, UnreadNum: 3, ReadReceiptMembers: [{ Member_Account: "admin-read" }] },
    ],
    EventTime: 1_700_000_000_000,
    Extra: undefined,
  },
};
const emptyPlatform: Generated = {
  ...restRead,
  query: { ...restRead.query, ClientIP: ["203.0.113.7"], OptPlatform: [""] },
  body: { ...restRead.body, GroupSuffix: "empty-platform" },
};
const loneSurrogates: Generated = {
  query: { ...restRead.query, ClientIP: ["203.0.113.7"], OptPlatform: ["iOS"] },
  body: {
    GroupSuffix: "surrogates",
    Type: "Public",
    GroupMsgReceiptList: [
      {
        MsgSeq: 8,
        ReadNum: 2,
        UnreadNum: 0,
        ReadReceiptMembers: [{ Member_Account: "x\ud800" }, { Member_Account: "x\udbff" }],
      },
    ],
    EventTime: 1_700_000_000_001,
    Extra: undefined,
  },
};
const ordinary: Generated = {
  ...restRead,
  query: { ...restRead.query, ClientIP: ["203.0.113.9"], OptPlatform: ["Android"] },
  body: { ...restRead.body, GroupSuffix: "ordinary" },
};

describe("every callback answered 200", () => {
  it("is in Postgres exactly, and every 4xx stores nothing", async () => {
    const accepted: ReceiptPacket[] = [];
    const ledger = new Map<string, { ip: string | null; platform: string | null }>();
    const statuses = new Map<number, number>();
    let run = 0;

    await fc.assert(
      fc.asyncProperty(fc.array(callbackArb, { minLength: 1, maxLength: 20 }), async (callbacks) => {
        run += 1;
        const replies = await Promise.all(
          callbacks.map(async (c, i) => {
            const groupId = `p${run}-${i}-${c.body.GroupSuffix}`;
            const { GroupSuffix: _suffix, ...rest } = c.body;
            const body = { CallbackCommand: COMMAND, GroupId: groupId, ...rest };
            const qs = queryString(c.query);
            const res = await fetch(`${stack.base}/callback?${qs}`, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify(body),
            });
            await res.text();
            return { status: res.status, body, qs };
          }),
        );
        for (const { status, body, qs } of replies) {
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          expect([200, 400, 403]).toContain(status);
          const decoded = parseQuery(qs);
          const command = decoded.CallbackCommand;
          if (status !== 200 || (command !== undefined && command !== "" && command !== COMMAND)) continue;
          const text = (v: unknown) => (typeof v === "string" && v !== "" ? v : null);
          const packet = {
            sdkAppId: APP_ID,
            clientIp: text(decoded.ClientIP),
            optPlatform: text(decoded.OptPlatform),
            receivedAtMs: 0,
            receipt: { ...body, EventTime: Number(body.EventTime) },
          };
          accepted.push(packet as unknown as ReceiptPacket);
          for (const m of body.GroupMsgReceiptList) {
            const key = `${body.GroupId}|${m.MsgSeq}|${Number(body.EventTime)}`;
            if (!ledger.has(key)) ledger.set(key, { ip: packet.clientIp, platform: packet.optPlatform });
          }
        }
        const expected = expectedState(accepted);
        const comparison = await waitFor(
          `run ${run}: every acknowledged callback in Postgres`,
          async () => {
            const c = await compareWithDatabase(stack.db.url, expected);
            return c.lost === 0 && c.wrong === 0 && c.extra === 0 ? c : false;
          },
          { timeoutMs: 15_000 },
        ).catch(async (error: Error) => ({
          error: error.message,
          ...(await compareWithDatabase(stack.db.url, expected)),
        }));
        expect(comparison).toMatchObject({ lost: 0, wrong: 0, extra: 0 });
      }),
      { numRuns: 40, seed: 20261127, examples: [[[restRead, emptyPlatform, loneSurrogates, ordinary]]] },
    );

    // The ledger keeps the query's text as given; an empty value is stored as absent.
    const rows = await query<{ k: string; ip: string | null; platform: string | null }>(
      stack.db.url,
      "SELECT group_id || '|' || msg_seq || '|' || (extract(epoch from event_time) * 1000)::bigint AS k, client_ip AS ip, opt_platform AS platform FROM read_receipt_events",
    );
    for (const row of rows)
      expect({ k: row.k, ip: row.ip, platform: row.platform }).toEqual({ k: row.k, ...ledger.get(row.k) });

    expect(await failedJobCount(stack.prefix)).toBe(0);
    expect(await query(stack.db.url, "SELECT to_regclass('quarantined_callbacks') IS NOT NULL AS present")).toEqual([
      { present: true },
    ]);
    expect(await query(stack.db.url, "SELECT reason, error FROM quarantined_callbacks")).toEqual([]);
    // Both outcomes occur often enough for the property to mean something.
    expect(statuses.get(200) ?? 0).toBeGreaterThan(60);
    expect((statuses.get(400) ?? 0) + (statuses.get(403) ?? 0)).toBeGreaterThan(20);
  });

  it("is checked packet by packet when its job was not built by this schema version's ingest", async () => {
    // Spool lines, older or foreign producers, jobs made or edited by hand, stamps copied from
    // other jobs: the worker trusts none of them. Whatever they hold, a packet the schema
    // accepts is written as the schema outputs it, and every other one is quarantined; nothing
    // of it reaches the tables.
    await query(
      stack.db.url,
      "TRUNCATE read_receipt_events, group_message_receipts, group_message_readers, quarantined_callbacks",
    );
    const queue = openQueue(stack.prefix);
    const written: ReceiptPacket[] = [];
    let rejected = 0;
    let run = 0;
    const packetArb = fc.record({
      sdkAppId: fc.oneof({ weight: 8, arbitrary: fc.constant(APP_ID) }, { weight: 1, arbitrary: oddText }),
      clientIp: fc.oneof(fc.constant(null), fc.constantFrom("203.0.113.7", ""), oddText),
      optPlatform: fc.oneof(fc.constant(null), fc.constantFrom("iOS", ""), oddText),
      receivedAtMs: fc.oneof({ weight: 8, arbitrary: fc.nat() }, { weight: 1, arbitrary: fc.constant(-1) }),
      body: bodyArb,
    });
    // Anything at all, in place of a packet or of its receipt.
    const oddPacketArb = fc.oneof(
      fc.jsonValue(),
      packetArb.map(({ body: _body, ...packet }) => ({ ...packet, receipt: { GroupMsgReceiptList: [null] } })),
    );
    const stampArb = fc.constantFrom("none", "null", "number", "other version", "copied from other packets");
    // A job holds rows (the wire form the ingest writes) or packets (spool lines, older producers).
    const formArb = fc.constantFrom("rows", "packets");
    // The wire form of whatever toWire can read; anything else goes into the job as it is.
    const looseWire = (value: unknown): unknown => {
      try {
        return toWire(value as ReceiptPacket);
      } catch {
        return value;
      }
    };
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.oneof({ weight: 6, arbitrary: packetArb }, { weight: 1, arbitrary: oddPacketArb }), {
            minLength: 1,
            maxLength: 20,
          }),
          stampArb,
          formArb,
          async (generated, stampKind, form) => {
            run += 1;
            const packets: unknown[] = generated.map((item, i) => {
              if (!(item && typeof item === "object" && "body" in item)) return item;
              const { body, ...packet } = item as { body: { GroupSuffix: string } };
              const { GroupSuffix, ...rest } = body;
              return {
                ...packet,
                receipt: { CallbackCommand: COMMAND, GroupId: `j${run}-${i}-${GroupSuffix}`, ...rest },
              };
            });
            const values = form === "rows" ? packets.map(looseWire) : packets;
            const ownStamp = stampOf(values);
            const packetSchema = {
              none: undefined,
              null: null,
              number: 1,
              "other version": `0${ownStamp}`,
              "copied from other packets": stampOf([...values, APP_ID]),
            }[stampKind];
            // A row stands for the packet fromWire makes of it; the schema judges that.
            for (const value of values) {
              const parsed = parseReceiptPacket(form === "rows" ? fromWire(value) : value);
              if (parsed.ok) written.push(parsed.value);
              else rejected += 1;
            }
            const data = form === "rows" ? { rows: values, packetSchema } : { packets: values, packetSchema };
            await queue.add(RECEIPT_JOB_NAME, data as ReceiptJobData, RECEIPT_JOB_OPTIONS);
            const expected = expectedState(written);
            const settled = async () => {
              const [row] = await query<{ n: number }>(
                stack.db.url,
                "SELECT count(*)::int AS n FROM quarantined_callbacks WHERE reason = 'invalid_payload'",
              );
              const c = await compareWithDatabase(stack.db.url, expected);
              return { quarantined: row?.n, lost: c.lost, wrong: c.wrong, extra: c.extra };
            };
            const outcome = await waitFor(
              `job ${run}: valid packets written, the others quarantined`,
              async () => {
                const s = await settled();
                return s.quarantined === rejected && s.lost + s.wrong + s.extra === 0 && s;
              },
              { timeoutMs: 15_000 },
            ).catch(settled);
            expect(outcome).toEqual({ quarantined: rejected, lost: 0, wrong: 0, extra: 0 });
          },
        ),
        { numRuns: 30, seed: 20261128 },
      );
      expect(await failedJobCount(stack.prefix)).toBe(0);
    } finally {
      await dropQueue(queue);
    }
    // Both kinds occur often enough for the property to mean something.
    expect(written.length).toBeGreaterThan(50);
    expect(rejected).toBeGreaterThan(20);
  });
});
