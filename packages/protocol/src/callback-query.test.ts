import { describe, expect, it } from "vitest";
import { parseCallbackQuery } from "./callback-query.js";

describe("parseCallbackQuery", () => {
  it("reads Tencent's parameters, spelled as Tencent spells them", () => {
    const result = parseCallbackQuery({
      SdkAppid: "1400000001",
      CallbackCommand: "Group.CallbackAfterReadReceipt",
      contenttype: "json",
      ClientIP: "::1",
      OptPlatform: "IOS",
    });
    expect(result).toEqual({
      ok: true,
      value: {
        sdkAppId: "1400000001",
        callbackCommand: "Group.CallbackAfterReadReceipt",
        clientIp: "::1",
        optPlatform: "IOS",
        sign: undefined,
        requestTime: undefined,
      },
    });
  });

  it("requires a numeric SdkAppid", () => {
    expect(parseCallbackQuery({})).toEqual({ ok: false, error: "missing query parameter SdkAppid" });
    expect(parseCallbackQuery({ SDKAppID: "1400000001" })).toEqual({
      ok: false,
      error: "missing query parameter SdkAppid",
    });
    expect(parseCallbackQuery({ SdkAppid: "14abc" })).toEqual({
      ok: false,
      error: "query parameter SdkAppid must be a number",
    });
  });

  it("rejects a parameter given twice", () => {
    expect(parseCallbackQuery({ SdkAppid: ["1", "2"] })).toEqual({
      ok: false,
      error: "query parameter SdkAppid must appear once",
    });
    expect(parseCallbackQuery({ SdkAppid: "1", Sign: ["a", "b"] })).toEqual({
      ok: false,
      error: "query parameter Sign must appear once",
    });
  });

  it("reads an empty value as absent, as an admin's REST read sends ClientIP", () => {
    expect(parseCallbackQuery({ SdkAppid: "1", ClientIP: "", OptPlatform: "", CallbackCommand: "" })).toMatchObject({
      ok: true,
      value: { clientIp: undefined, optPlatform: undefined, callbackCommand: undefined },
    });
    expect(parseCallbackQuery({ SdkAppid: "" })).toEqual({ ok: false, error: "missing query parameter SdkAppid" });
  });
});
