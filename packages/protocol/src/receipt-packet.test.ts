import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseReceiptPacket, type ReceiptPacket } from "./receipt-packet.js";

// The docs' sample packet, with its comments and missing comma repaired.
const docsSample = {
  CallbackCommand: "Group.CallbackAfterReadReceipt",
  GroupId: "@TGS#2TTV7VSII",
  Type: "Public",
  GroupMsgReceiptList: [
    { MsgSeq: 1, ReadNum: 1, UnreadNum: 6, ReadReceiptMembers: [{ Member_Account: "user0" }] },
    { MsgSeq: 2, ReadNum: 1, UnreadNum: 6, ReadReceiptMembers: [{ Member_Account: "user0" }] },
  ],
  EventTime: "1670574414123",
};

const packetOf = (receipt: unknown, query: { clientIp?: unknown; optPlatform?: unknown } = {}) => ({
  sdkAppId: "1400000001",
  clientIp: "203.0.113.7",
  optPlatform: "iOS",
  receivedAtMs: 1,
  ...query,
  receipt,
});

/** The body alone, as the ingest wraps it into a packet. */
function parseReadReceipt(body: unknown) {
  const result = parseReceiptPacket(packetOf(body));
  return result.ok ? { ok: true as const, value: result.value.receipt } : result;
}

const withMessage = (message: Record<string, unknown>) => ({ ...docsSample, GroupMsgReceiptList: [message] });

function errorOf(body: unknown): string {
  const result = parseReadReceipt(body);
  if (result.ok) throw new Error("expected the packet to be rejected");
  return result.error;
}

describe("the body of a packet", () => {
  it("accepts the docs' sample and reads its string EventTime as milliseconds", () => {
    const result = parseReadReceipt(docsSample);
    expect(result).toMatchObject({ ok: true, value: { EventTime: 1670574414123, GroupId: "@TGS#2TTV7VSII" } });
  });

  it("accepts EventTime as a number, as the field table says", () => {
    expect(parseReadReceipt({ ...docsSample, EventTime: 1670574414123 })).toMatchObject({
      ok: true,
      value: { EventTime: 1670574414123 },
    });
  });

  it("treats ReadReceiptMembers as optional", () => {
    expect(parseReadReceipt(withMessage({ MsgSeq: 3, ReadNum: 2, UnreadNum: 4 })).ok).toBe(true);
  });

  it("drops unknown fields instead of rejecting the packet", () => {
    const result = parseReadReceipt({
      ...docsSample,
      FutureField: { a: 1 },
      GroupMsgReceiptList: [{ MsgSeq: 1, ReadNum: 0, UnreadNum: 1, Extra: true }],
    });
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.value).not.toHaveProperty("FutureField");
      expect(result.value.GroupMsgReceiptList[0]).not.toHaveProperty("Extra");
    }
  });

  it("keeps the group Type as given, including the new names", () => {
    for (const type of ["Public", "Private", "Work", "ChatRoom", "Meeting"]) {
      expect(parseReadReceipt({ ...docsSample, Type: type })).toMatchObject({ ok: true, value: { Type: type } });
    }
  });

  it("accepts non-ASCII accounts and MsgSeq beyond 2^32", () => {
    const result = parseReadReceipt(
      withMessage({
        MsgSeq: 2 ** 40 + 3,
        ReadNum: 1,
        UnreadNum: 0,
        ReadReceiptMembers: [{ Member_Account: "张三_ü" }],
      }),
    );
    expect(result).toMatchObject({
      ok: true,
      value: { GroupMsgReceiptList: [{ MsgSeq: 2 ** 40 + 3, ReadReceiptMembers: [{ Member_Account: "张三_ü" }] }] },
    });
  });

  it.each([
    ["a negative MsgSeq", { MsgSeq: -1, ReadNum: 0, UnreadNum: 0 }, "GroupMsgReceiptList.0.MsgSeq"],
    ["a fractional ReadNum", { MsgSeq: 1, ReadNum: 1.5, UnreadNum: 0 }, "GroupMsgReceiptList.0.ReadNum"],
    ["a MsgSeq beyond 2^53", { MsgSeq: 2 ** 53 + 2, ReadNum: 0, UnreadNum: 0 }, "GroupMsgReceiptList.0.MsgSeq"],
    ["UnreadNum as a string", { MsgSeq: 1, ReadNum: 0, UnreadNum: "6" }, "GroupMsgReceiptList.0.UnreadNum"],
    [
      "an empty account",
      { MsgSeq: 1, ReadNum: 1, UnreadNum: 0, ReadReceiptMembers: [{ Member_Account: "" }] },
      "Member_Account",
    ],
    [
      "a NUL in an account",
      { MsgSeq: 1, ReadNum: 1, UnreadNum: 0, ReadReceiptMembers: [{ Member_Account: "a\u0000b" }] },
      "NUL",
    ],
    [
      "a lone high surrogate in an account",
      { MsgSeq: 1, ReadNum: 1, UnreadNum: 0, ReadReceiptMembers: [{ Member_Account: "x\ud800" }] },
      "well-formed",
    ],
    [
      "a lone low surrogate in an account",
      { MsgSeq: 1, ReadNum: 1, UnreadNum: 0, ReadReceiptMembers: [{ Member_Account: "\udc00x" }] },
      "Member_Account",
    ],
    ["a missing ReadNum", { MsgSeq: 1, UnreadNum: 0 }, "GroupMsgReceiptList.0.ReadNum"],
  ])("rejects %s, naming the field", (_name, message, expected) => {
    expect(errorOf(withMessage(message))).toContain(expected);
  });

  it.each([
    ["garbage", "soon"],
    ["a fraction", "1670574414123.5"],
    ["a negative number", -5],
    ["zero", 0],
    ["a date far beyond year 9999", 9_999_999_999_999_998],
    ["a boolean", true],
  ])("rejects EventTime given as %s", (_name, eventTime) => {
    expect(errorOf({ ...docsSample, EventTime: eventTime })).toContain("EventTime");
  });

  it("rejects a packet missing GroupId or GroupMsgReceiptList", () => {
    const { GroupId: _g, ...noGroup } = docsSample;
    const { GroupMsgReceiptList: _l, ...noList } = docsSample;
    expect(errorOf(noGroup)).toContain("GroupId");
    expect(errorOf(noList)).toContain("GroupMsgReceiptList");
  });

  it("rejects 10,000 readers on one message", () => {
    const readers = Array.from({ length: 10_000 }, (_, i) => ({ Member_Account: `u${i}` }));
    expect(errorOf(withMessage({ MsgSeq: 1, ReadNum: 10_000, UnreadNum: 0, ReadReceiptMembers: readers }))).toContain(
      "ReadReceiptMembers",
    );
  });

  it("rejects a body that is not an object", () => {
    expect(errorOf([docsSample])).toMatch(/^body: /);
    expect(errorOf("text")).toMatch(/^body: /);
  });
});

describe("the query part of a packet", () => {
  it("reads an empty ClientIP or OptPlatform as absent, as an admin's REST read sends them", () => {
    const result = parseReceiptPacket(packetOf(docsSample, { clientIp: "", optPlatform: "" }));
    expect(result).toMatchObject({ ok: true, value: { clientIp: null, optPlatform: null } });
    expect(parseReceiptPacket(packetOf(docsSample, { clientIp: null, optPlatform: "RESTAPI" }))).toMatchObject({
      ok: true,
      value: { clientIp: null, optPlatform: "RESTAPI" },
    });
  });

  it("names the query parameter when its text cannot be stored", () => {
    const tooLong = parseReceiptPacket(packetOf(docsSample, { clientIp: "x".repeat(65) }));
    expect(tooLong).toMatchObject({ ok: false, error: expect.stringContaining("query ClientIP") });
    const nul = parseReceiptPacket(packetOf(docsSample, { optPlatform: "iOS\u0000" }));
    expect(nul).toMatchObject({ ok: false, error: expect.stringContaining("query OptPlatform") });
  });
});

describe("any packet the schema accepts", () => {
  const anyText = fc.oneof(
    fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 8 }),
    fc.string({ unit: "grapheme", maxLength: 8 }),
  );
  const anyPacket = fc.record({
    sdkAppId: fc.oneof(fc.constant("1400000001"), anyText),
    clientIp: fc.oneof(fc.constant(null), anyText),
    optPlatform: fc.oneof(fc.constant(null), anyText),
    receivedAtMs: fc.oneof(fc.nat(), fc.constant(-1)),
    receipt: fc.record({
      CallbackCommand: fc.constant("Group.CallbackAfterReadReceipt"),
      GroupId: anyText,
      Type: anyText,
      GroupMsgReceiptList: fc.array(
        fc.record({
          MsgSeq: fc.nat(),
          ReadNum: fc.nat(),
          UnreadNum: fc.nat(),
          ReadReceiptMembers: fc.array(fc.record({ Member_Account: anyText }), { maxLength: 3 }),
        }),
        { maxLength: 2 },
      ),
      EventTime: fc.oneof(fc.integer({ min: 1, max: 2e12 }), fc.integer({ min: 1, max: 2e12 }).map(String)),
    }),
  });

  const texts = (p: ReceiptPacket) => [
    p.sdkAppId,
    p.clientIp ?? "x",
    p.optPlatform ?? "x",
    p.receipt.GroupId,
    p.receipt.Type,
    ...p.receipt.GroupMsgReceiptList.flatMap((m) => (m.ReadReceiptMembers ?? []).map((r) => r.Member_Account)),
  ];

  it("holds only text Postgres stores as given, and reads back the same after the trip through the queue", () => {
    let accepted = 0;
    fc.assert(
      fc.property(anyPacket, (input) => {
        const first = parseReceiptPacket(input);
        if (!first.ok) return;
        accepted += 1;
        for (const text of texts(first.value)) expect(text.isWellFormed() && !text.includes("\u0000")).toBe(true);
        // What the worker reads is the JSON the queue stored.
        const again = parseReceiptPacket(JSON.parse(JSON.stringify(first.value)));
        expect(again).toEqual(first);
      }),
      { numRuns: 2000, seed: 7 },
    );
    expect(accepted).toBeGreaterThan(100);
  });
});
