import { describe, expect, it } from "vitest";
import { classifyRestError, receiptDetailSchema } from "./rest-api.js";

describe("receiptDetailSchema", () => {
  it("reads the finished flag under either spelling, as a number or a boolean", () => {
    expect(receiptDetailSchema.parse({ ReadList: [], Cursor: "", IsFinish: 1 }).finished).toBe(true);
    expect(receiptDetailSchema.parse({ ReadList: [], Cursor: "c", IsFinished: 0 }).finished).toBe(false);
    expect(receiptDetailSchema.parse({ ReadList: [], IsFinished: true }).finished).toBe(true);
    expect(receiptDetailSchema.parse({ ReadList: [] }).finished).toBeUndefined();
  });

  it("refuses an account Postgres could not store as given", () => {
    expect(receiptDetailSchema.safeParse({ ReadList: [{ Read_Account: "x\ud800" }] }).success).toBe(false);
    expect(receiptDetailSchema.safeParse({ ReadList: [{ Read_Account: "a\u0000b" }] }).success).toBe(false);
    expect(receiptDetailSchema.safeParse({ ReadList: [{ Read_Account: "张三😀" }] }).success).toBe(true);
  });

  it("lists the accounts of the read list, or of the unread list", () => {
    expect(receiptDetailSchema.parse({ ReadList: [{ Read_Account: "a" }, { Read_Account: "b" }] }).accounts).toEqual([
      "a",
      "b",
    ]);
    expect(receiptDetailSchema.parse({ UnreadList: [{ Unread_Account: "c" }] }).accounts).toEqual(["c"]);
  });
});

describe("classifyRestError", () => {
  it("sorts the documented codes into what to do", () => {
    expect([60007, 60011, 60018, 60019].map(classifyRestError)).toEqual(Array(4).fill("rate_limited"));
    expect([60008, 10002].map(classifyRestError)).toEqual(["unavailable", "unavailable"]);
    expect(classifyRestError(70001)).toBe("sig_expired");
    expect(
      [70003, 70009, 70013, 70014, 70016, 70020, 60010, 10007, 60020, 10059, 60021].every(
        (c) => classifyRestError(c) === "configuration",
      ),
    ).toBe(true);
    expect([10010, 10015].map(classifyRestError)).toEqual(["group_gone", "group_gone"]);
    expect(classifyRestError(10004)).toBe("skip");
  });

  it("skips, rather than retries or stops on, a code the docs do not list", () => {
    expect(classifyRestError(99999)).toBe("skip");
  });
});
