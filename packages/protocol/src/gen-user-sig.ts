import { createHmac } from "node:crypto";
import { deflateSync } from "node:zlib";

/** What a UserSig is made from. `secretKey` is the app's key from the Chat console. */
type UserSigInput = {
  sdkAppId: string;
  secretKey: string;
  identifier: string;
  /** Lifetime in seconds (not an absolute time); Tencent recommends at least a day. */
  expireSeconds: number;
  nowMs: number;
};

/**
 * TLSSigAPIv2, as Tencent's own `tls-sig-api-v2` computes it (a test compares the two byte for
 * byte): HMAC-SHA256 over four fixed lines keyed with the SecretKey's UTF-8 bytes (not
 * hex-decoded), put in a JSON document whose key order matters, zlib-deflated (with the zlib
 * header, not raw deflate), then base64 with `+/=` replaced by `*-_`.
 */
export function genUserSig({ sdkAppId, secretKey, identifier, expireSeconds, nowMs }: UserSigInput): string {
  const time = Math.floor(nowMs / 1000);
  const signed = `TLS.identifier:${identifier}\nTLS.sdkappid:${sdkAppId}\nTLS.time:${time}\nTLS.expire:${expireSeconds}\n`;
  const document = {
    "TLS.ver": "2.0",
    "TLS.identifier": identifier,
    "TLS.sdkappid": Number(sdkAppId),
    "TLS.time": time,
    "TLS.expire": expireSeconds,
    "TLS.sig": createHmac("sha256", secretKey).update(signed).digest("base64"),
  };
  return deflateSync(Buffer.from(JSON.stringify(document)))
    .toString("base64")
    .replace(/\+/g, "*")
    .replace(/\//g, "-")
    .replace(/=/g, "_");
}
