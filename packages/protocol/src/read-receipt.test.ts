import { describe, expect, it } from "vitest";
import { parseReadReceipt } from "./read-receipt.js";

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

const withMessage = (message: Record<string, unknown>) => ({ ...docsSample, GroupMsgReceiptList: [message] });

function errorOf(body: unknown): string {
  const result = parseReadReceipt(body);
  if (result.ok) throw new Error("expected the packet to be rejected");
  return result.error;
}

describe("parseReadReceipt", () => {
  it("accepts the docs' sample and reads its string EventTime as milliseconds", () => {
    const result = parseReadReceipt(docsSample);
    expect(result).toMatchObject({ ok: true, value: { EventTime: 1670574414123, GroupId: "@TGS#2TTV7VSII" } });
  });

  it("accepts EventTime as a number, as the field table says", () => {
    expect(parseReadReceipt({ ...docsSample, EventTime: 1670574414123 })).toMatchObject({ ok: true, value: { EventTime: 1670574414123 } });
  });

  it("treats ReadReceiptMembers as optional", () => {
    expect(parseReadReceipt(withMessage({ MsgSeq: 3, ReadNum: 2, UnreadNum: 4 })).ok).toBe(true);
  });

  it("drops unknown fields instead of rejecting the packet", () => {
    const result = parseReadReceipt({ ...docsSample, FutureField: { a: 1 }, GroupMsgReceiptList: [{ MsgSeq: 1, ReadNum: 0, UnreadNum: 1, Extra: true }] });
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
    const result = parseReadReceipt(withMessage({ MsgSeq: 2 ** 40 + 3, ReadNum: 1, UnreadNum: 0, ReadReceiptMembers: [{ Member_Account: "张三_ü" }] }));
    expect(result).toMatchObject({ ok: true, value: { GroupMsgReceiptList: [{ MsgSeq: 2 ** 40 + 3, ReadReceiptMembers: [{ Member_Account: "张三_ü" }] }] } });
  });

  it.each([
    ["a negative MsgSeq", { MsgSeq: -1, ReadNum: 0, UnreadNum: 0 }, "GroupMsgReceiptList.0.MsgSeq"],
    ["a fractional ReadNum", { MsgSeq: 1, ReadNum: 1.5, UnreadNum: 0 }, "GroupMsgReceiptList.0.ReadNum"],
    ["a MsgSeq beyond 2^53", { MsgSeq: 2 ** 53 + 2, ReadNum: 0, UnreadNum: 0 }, "GroupMsgReceiptList.0.MsgSeq"],
    ["UnreadNum as a string", { MsgSeq: 1, ReadNum: 0, UnreadNum: "6" }, "GroupMsgReceiptList.0.UnreadNum"],
    ["an empty account", { MsgSeq: 1, ReadNum: 1, UnreadNum: 0, ReadReceiptMembers: [{ Member_Account: "" }] }, "Member_Account"],
    ["a NUL in an account", { MsgSeq: 1, ReadNum: 1, UnreadNum: 0, ReadReceiptMembers: [{ Member_Account: "a\u0000b" }] }, "NUL"],
    ["a missing ReadNum", { MsgSeq: 1, UnreadNum: 0 }, "GroupMsgReceiptList.0.ReadNum"],
  ])("rejects %s, naming the field", (_name, message, expected) => {
    expect(errorOf(withMessage(message))).toContain(expected);
  });

  it.each([
    ["garbage", "soon"],
    ["a fraction", "1670574414123.5"],
    ["a negative number", -5],
    ["zero", 0],
    ["a date far beyond year 9999", 9_999_999_999_999_999],
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
    expect(errorOf(withMessage({ MsgSeq: 1, ReadNum: 10_000, UnreadNum: 0, ReadReceiptMembers: readers }))).toContain("ReadReceiptMembers");
  });

  it("rejects a body that is not an object", () => {
    expect(errorOf([docsSample])).toMatch(/^body: /);
    expect(errorOf("text")).toMatch(/^body: /);
  });
});
