import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseReceiptPacket, type ReceiptPacket } from "./receipt-packet.js";
import { fromWire, toWire } from "./wire-packet.js";

const text = fc.string({ minLength: 1, maxLength: 10, unit: "grapheme" }).filter((s) => !s.includes("\u0000"));
const optionalText = fc.option(text, { nil: null });
const message = fc.record(
  {
    MsgSeq: fc.integer({ min: 0, max: 2 ** 40 }),
    ReadNum: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    UnreadNum: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    ReadReceiptMembers: fc.array(fc.record({ Member_Account: text }), { maxLength: 4 }),
  },
  { requiredKeys: ["MsgSeq", "ReadNum", "UnreadNum"] },
);
const packet: fc.Arbitrary<ReceiptPacket> = fc.record({
  sdkAppId: fc.stringMatching(/^[0-9]{1,18}$/),
  clientIp: optionalText,
  optPlatform: optionalText,
  receivedAtMs: fc.integer({ min: 0, max: 2 ** 45 }),
  receipt: fc.record({
    CallbackCommand: fc.constant("Group.CallbackAfterReadReceipt" as const),
    GroupId: text,
    Type: text,
    GroupMsgReceiptList: fc.array(message, { maxLength: 4 }),
    EventTime: fc.integer({ min: 1, max: 2 ** 45 }),
  }),
});

describe("the wire form of a packet", () => {
  it("carries every packet the schema accepts exactly, through JSON", () => {
    fc.assert(
      fc.property(packet, (p) => {
        expect(parseReceiptPacket(p)).toEqual({ ok: true, value: p });
        const back = fromWire(JSON.parse(JSON.stringify(toWire(p))));
        expect(back).toEqual(p);
        expect(parseReceiptPacket(back)).toEqual({ ok: true, value: p });
      }),
      { numRuns: 500 },
    );
  });

  it("keeps a message without ReadReceiptMembers apart from one with an empty list", () => {
    const p = fc.sample(packet, { numRuns: 1, seed: 7 })[0]!;
    const list = [
      { MsgSeq: 1, ReadNum: 0, UnreadNum: 2 },
      { MsgSeq: 2, ReadNum: 0, UnreadNum: 2, ReadReceiptMembers: [] },
    ];
    const withBoth = { ...p, receipt: { ...p.receipt, GroupMsgReceiptList: list } };
    expect(fromWire(toWire(withBoth))).toEqual(withBoth);
  });

  it("hands anything else to the schema as it is, never throwing", () => {
    fc.assert(
      fc.property(fc.anything(), fc.array(fc.anything(), { minLength: 8, maxLength: 8 }), (value, row) => {
        expect(parseReceiptPacket(fromWire(value)).ok).toBe(false);
        expect(parseReceiptPacket(fromWire(row)).ok).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});
