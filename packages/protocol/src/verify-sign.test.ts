import { describe, expect, it } from "vitest";
import { computeSign, verifySign } from "./verify-sign.js";

const token = "xxxxyyyy";
const requestTime = "1669872112";
const docsSign = "17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061";
const atRequestTime = Number(requestTime) * 1000;

describe("verifySign", () => {
  it("matches the test vector in Tencent's docs", () => {
    expect(computeSign(token, requestTime)).toBe(docsSign);
    expect(verifySign({ token, sign: docsSign, requestTime, nowMs: atRequestTime })).toEqual({ ok: true });
  });

  it("accepts up to 60 s of clock skew either way and no more", () => {
    const check = (nowMs: number) => verifySign({ token, sign: docsSign, requestTime, nowMs });
    expect(check(atRequestTime + 60_000).ok).toBe(true);
    expect(check(atRequestTime - 60_000).ok).toBe(true);
    expect(check(atRequestTime + 61_000)).toEqual({ ok: false, reason: "RequestTime outside the allowed window" });
    expect(check(atRequestTime - 61_000)).toEqual({ ok: false, reason: "RequestTime outside the allowed window" });
  });

  it("rejects a wrong token, a tampered sign and a missing part", () => {
    expect(verifySign({ token: "other", sign: docsSign, requestTime, nowMs: atRequestTime })).toEqual({
      ok: false,
      reason: "Sign mismatch",
    });
    expect(verifySign({ token, sign: docsSign.slice(0, -1), requestTime, nowMs: atRequestTime })).toEqual({
      ok: false,
      reason: "Sign mismatch",
    });
    expect(verifySign({ token, sign: undefined, requestTime, nowMs: atRequestTime })).toEqual({
      ok: false,
      reason: "missing Sign or RequestTime",
    });
    expect(verifySign({ token, sign: docsSign, requestTime: undefined, nowMs: atRequestTime })).toEqual({
      ok: false,
      reason: "missing Sign or RequestTime",
    });
    expect(verifySign({ token, sign: docsSign, requestTime: "12e3", nowMs: atRequestTime })).toEqual({
      ok: false,
      reason: "RequestTime is not a number",
    });
  });
});
