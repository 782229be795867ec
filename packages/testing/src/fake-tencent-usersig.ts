import { createHmac, timingSafeEqual } from "node:crypto";
import { inflateSync } from "node:zlib";

/** What Tencent answers about a UserSig: 0, or the code it would return. */
type SigVerdict = { ok: true } | { ok: false; code: number; info: string };

/**
 * Checks a UserSig the way Tencent's servers do, written from the algorithm (not from our
 * client's code), so a mistake in the client cannot agree with itself here.
 */
export function verifyUserSig(
  sig: string,
  expected: { sdkAppId: string; identifier: string; secretKey: string; nowMs: number },
): SigVerdict {
  let doc: Record<string, unknown>;
  try {
    const base64 = sig.replace(/\*/g, "+").replace(/-/g, "/").replace(/_/g, "=");
    doc = JSON.parse(inflateSync(Buffer.from(base64, "base64")).toString("utf8")) as Record<string, unknown>;
  } catch {
    return { ok: false, code: 70003, info: "UserSig cannot be decoded" };
  }
  const {
    "TLS.identifier": identifier,
    "TLS.sdkappid": sdkAppId,
    "TLS.time": time,
    "TLS.expire": expire,
    "TLS.sig": mac,
  } = doc;
  if (doc["TLS.ver"] !== "2.0" || typeof time !== "number" || typeof expire !== "number" || typeof mac !== "string") {
    return { ok: false, code: 70003, info: "UserSig is malformed" };
  }
  if (String(sdkAppId) !== expected.sdkAppId)
    return { ok: false, code: 70014, info: "UserSig was made for another SDKAppID" };
  if (identifier !== expected.identifier)
    return { ok: false, code: 70013, info: "UserSig was made for another identifier" };
  const text = `TLS.identifier:${identifier}\nTLS.sdkappid:${sdkAppId}\nTLS.time:${time}\nTLS.expire:${expire}\n`;
  const want = createHmac("sha256", expected.secretKey).update(text).digest();
  const got = Buffer.from(mac, "base64");
  if (got.length !== want.length || !timingSafeEqual(got, want))
    return { ok: false, code: 70009, info: "UserSig signature mismatch (wrong SecretKey?)" };
  if (expected.nowMs / 1000 > time + expire) return { ok: false, code: 70001, info: "UserSig expired" };
  return { ok: true };
}
