import type { ParseResult } from "./read-receipt.js";
import { MAX_QUERY_TEXT_CHARS } from "./receipt-packet.js";

/** The query string Tencent puts on every callback URL. Note the spelling `SdkAppid`. */
export type CallbackQuery = {
  sdkAppId: string;
  callbackCommand: string | undefined;
  clientIp: string | undefined;
  optPlatform: string | undefined;
  sign: string | undefined;
  requestTime: string | undefined;
};

const FIELDS = {
  sdkAppId: "SdkAppid",
  callbackCommand: "CallbackCommand",
  clientIp: "ClientIP",
  optPlatform: "OptPlatform",
  sign: "Sign",
  requestTime: "RequestTime",
} as const;

/**
 * Reads the query as parsed by Node's querystring (a repeated key becomes an array).
 * A repeated key is rejected: which copy Tencent meant is unknowable, and a second
 * SdkAppid or Sign is a classic way to slip past a check that reads the other one.
 */
export function parseCallbackQuery(query: Record<string, unknown>): ParseResult<CallbackQuery> {
  const values: Partial<Record<keyof CallbackQuery, string>> = {};
  for (const [field, key] of Object.entries(FIELDS) as [keyof CallbackQuery, string][]) {
    const raw = query[key];
    if (raw === undefined) continue;
    if (typeof raw !== "string") return { ok: false, error: `query parameter ${key} must appear once` };
    if (raw.length > MAX_QUERY_TEXT_CHARS || raw.includes("\u0000")) {
      return { ok: false, error: `query parameter ${key} must be at most ${MAX_QUERY_TEXT_CHARS} characters of text` };
    }
    values[field] = raw;
  }
  const sdkAppId = values.sdkAppId;
  if (sdkAppId === undefined || sdkAppId === "") return { ok: false, error: "missing query parameter SdkAppid" };
  if (!/^[0-9]{1,18}$/.test(sdkAppId)) return { ok: false, error: "query parameter SdkAppid must be a number" };
  return {
    ok: true,
    value: {
      sdkAppId,
      callbackCommand: values.callbackCommand,
      clientIp: values.clientIp,
      optPlatform: values.optPlatform,
      sign: values.sign,
      requestTime: values.requestTime,
    },
  };
}
