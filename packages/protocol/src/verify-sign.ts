import { createHash, timingSafeEqual } from "node:crypto";

/** Tencent rejects nothing itself; we reject requests signed more than this far from now. */
const SIGN_WINDOW_SECONDS = 60;

type SignCheck =
  | { ok: true }
  | {
      ok: false;
      reason:
        | "missing Sign or RequestTime"
        | "RequestTime is not a number"
        | "RequestTime outside the allowed window"
        | "Sign mismatch";
    };

/** Tencent's Sign: lower-case hex SHA-256 of `Token + RequestTime` (plain hash, not HMAC; the body is not covered). */
export function computeSign(token: string, requestTime: string): string {
  return createHash("sha256")
    .update(token + requestTime)
    .digest("hex");
}

export function verifySign(input: {
  token: string;
  sign: string | undefined;
  requestTime: string | undefined;
  nowMs: number;
}): SignCheck {
  const { token, sign, requestTime, nowMs } = input;
  if (!sign || !requestTime) return { ok: false, reason: "missing Sign or RequestTime" };
  if (!/^[0-9]{1,12}$/.test(requestTime)) return { ok: false, reason: "RequestTime is not a number" };
  const skewSeconds = Math.abs(nowMs / 1000 - Number(requestTime));
  if (skewSeconds > SIGN_WINDOW_SECONDS) return { ok: false, reason: "RequestTime outside the allowed window" };

  const expected = Buffer.from(computeSign(token, requestTime), "utf8");
  const given = Buffer.from(sign.toLowerCase(), "utf8");
  // Constant-time compare: === would leak how long a matching prefix is.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: "Sign mismatch" };
  }
  return { ok: true };
}
