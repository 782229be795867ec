import type { ParseResult } from "./parse-with.js";
import { SDK_APP_ID } from "./read-receipt.js";

/**
 * The query string Tencent puts on every callback URL. Note the spelling `SdkAppid`. An empty
 * value (`ClientIP=`) reads as absent. ClientIP and OptPlatform are checked where they are
 * stored, by the packet schema.
 */
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
    if (raw === undefined || raw === "") continue;
    if (typeof raw !== "string") return { ok: false, error: `query parameter ${key} must appear once` };
    values[field] = raw;
  }
  if (values.sdkAppId === undefined) return { ok: false, error: "missing query parameter SdkAppid" };
  // The schema's own pattern, tested directly: this runs on every request, before the body.
  if (!SDK_APP_ID.test(values.sdkAppId)) return { ok: false, error: "query parameter SdkAppid must be a number" };
  return {
    ok: true,
    value: {
      sdkAppId: values.sdkAppId,
      callbackCommand: values.callbackCommand,
      clientIp: values.clientIp,
      optPlatform: values.optPlatform,
      sign: values.sign,
      requestTime: values.requestTime,
    },
  };
}
