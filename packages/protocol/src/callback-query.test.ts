import { describe, expect, it } from "vitest";
import { parseCallbackQuery } from "./callback-query.js";

describe("parseCallbackQuery", () => {
  it("reads Tencent's parameters, spelled as Tencent spells them", () => {
    const result = parseCallbackQuery({ SdkAppid: "1400000001", CallbackCommand: "Group.CallbackAfterReadReceipt", contenttype: "json", ClientIP: "::1", OptPlatform: "IOS" });
    expect(result).toEqual({
      ok: true,
      value: { sdkAppId: "1400000001", callbackCommand: "Group.CallbackAfterReadReceipt", clientIp: "::1", optPlatform: "IOS", sign: undefined, requestTime: undefined },
    });
  });

  it("requires a numeric SdkAppid", () => {
    expect(parseCallbackQuery({})).toEqual({ ok: false, error: "missing query parameter SdkAppid" });
    expect(parseCallbackQuery({ SDKAppID: "1400000001" })).toEqual({ ok: false, error: "missing query parameter SdkAppid" });
    expect(parseCallbackQuery({ SdkAppid: "14abc" })).toEqual({ ok: false, error: "query parameter SdkAppid must be a number" });
  });

  it("rejects a parameter given twice", () => {
    expect(parseCallbackQuery({ SdkAppid: ["1", "2"] })).toEqual({ ok: false, error: "query parameter SdkAppid must appear once" });
    expect(parseCallbackQuery({ SdkAppid: "1", Sign: ["a", "b"] })).toEqual({ ok: false, error: "query parameter Sign must appear once" });
  });

  it("rejects over-long or NUL-bearing text that Postgres could not store", () => {
    expect(parseCallbackQuery({ SdkAppid: "1", ClientIP: "x".repeat(65) })).toMatchObject({ ok: false, error: expect.stringContaining("ClientIP") });
    expect(parseCallbackQuery({ SdkAppid: "1", OptPlatform: "iOS\u0000" })).toMatchObject({ ok: false, error: expect.stringContaining("OptPlatform") });
  });
});
