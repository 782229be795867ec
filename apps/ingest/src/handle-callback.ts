import type { BlockList } from "node:net";
import {
  READ_RECEIPT_COMMAND,
  REQUEST_OVER_LIMIT_COMMAND,
  parseCallbackQuery,
  parseReceiptPacket,
  verifySign,
  type CallbackQuery,
  type RequestOverLimit,
} from "@receipt-sync/protocol";
import type { MeteredStore } from "./metered-store.js";
import { handleRateLimitAlert } from "./handle-rate-limit-alert.js";
import type { CallbackOutcome } from "./reply.js";
import { isAllowedSource } from "./source-allowlist.js";

export type CallbackDeps = {
  sdkAppIds: ReadonlySet<string>;
  callbackToken: string | undefined;
  /** Only callers from these addresses are served; absent, any address is. */
  allowedSources: BlockList | undefined;
  store: MeteredStore;
  /** Callbacks being stored at once past which new ones get 503 instead of more memory. */
  maxInFlightRequests: number;
  nowMs: () => number;
  /** Tencent's Alert.RequestOverLimit for an app of ours: tell the reconciler to slow down. */
  onRateLimitAlert?: (sdkAppId: string, alert: RequestOverLimit) => Promise<void>;
};

/** The caller's address, read only when an allowlist is set (Express's req.ip is a getter that parses X-Forwarded-For). */
type CallerSource = { readonly ip?: string | undefined };

type CheckedCaller = { ok: true; query: CallbackQuery } | { ok: false; outcome: CallbackOutcome };

/**
 * Everything that can be decided before the body is read, so a stranger's megabyte is never
 * parsed: where the caller is, whether there is room, who they say they are, whether they
 * signed it, and whether the URL's command is one we handle at all.
 */
export function checkCaller(
  rawQuery: Record<string, unknown>,
  source: CallerSource,
  deps: CallbackDeps,
): CheckedCaller {
  if (deps.allowedSources !== undefined && !isAllowedSource(deps.allowedSources, source.ip)) {
    return {
      ok: false,
      outcome: {
        kind: "forbidden",
        error: `source address ${source.ip ?? "(unknown)"} is not in ALLOWED_SOURCE_CIDRS`,
      },
    };
  }
  // Not about the caller, but decided at the same moment: past the cap, refuse before reading.
  if (deps.store.inFlight >= deps.maxInFlightRequests) {
    return {
      ok: false,
      outcome: { kind: "unavailable", error: `overloaded: ${deps.store.inFlight} callbacks in flight` },
    };
  }
  const parsed = parseCallbackQuery(rawQuery);
  if (!parsed.ok) return { ok: false, outcome: { kind: "invalid", error: parsed.error } };
  const query = parsed.value;
  if (!deps.sdkAppIds.has(query.sdkAppId)) {
    return { ok: false, outcome: { kind: "forbidden", error: `SdkAppid ${query.sdkAppId} is not served here` } };
  }
  if (deps.callbackToken !== undefined) {
    const sign = verifySign({
      token: deps.callbackToken,
      sign: query.sign,
      requestTime: query.requestTime,
      nowMs: deps.nowMs(),
    });
    if (!sign.ok) return { ok: false, outcome: { kind: "unauthenticated", error: sign.reason } };
  }
  if (query.callbackCommand !== undefined && routeOf(query.callbackCommand) === "other") {
    return { ok: false, outcome: { kind: "ignored", reason: `command ${query.callbackCommand} is not handled` } };
  }
  return { ok: true, query };
}

/**
 * Where the command is judged: here, and only here. Tencent puts CallbackCommand on every
 * callback URL, so checkCaller judges the URL's before the body is read. A URL without one (a
 * hand-made call) is judged by the body's, in handleCallback, with this same function. Whether
 * the body agrees with the URL is not a second check: the packet schema holds CallbackCommand
 * as a literal, so a read receipt whose body names another command is invalid there.
 *
 * One URL receives every callback the operator switched on. Anything but ours is acknowledged
 * and dropped: a non-zero code on a "before" callback would block users.
 */
function routeOf(command: string | undefined): "receipt" | "alert" | "other" {
  if (command === undefined || command === READ_RECEIPT_COMMAND) return "receipt";
  return command === REQUEST_OVER_LIMIT_COMMAND ? "alert" : "other";
}

/** Validates the body of an admitted caller and stores it; resolves once it is durable. */
export async function handleCallback(
  query: CallbackQuery,
  body: unknown,
  deps: CallbackDeps,
): Promise<CallbackOutcome> {
  const bodyCommand = isRecord(body) && typeof body.CallbackCommand === "string" ? body.CallbackCommand : undefined;
  const route = routeOf(query.callbackCommand ?? bodyCommand);
  if (route === "alert") return handleRateLimitAlert(query, body, deps);
  if (route === "other") return { kind: "ignored", reason: `command ${clip(bodyCommand ?? "")} is not handled` };
  // body-parser turns an empty body into {}; both mean Tencent's packet is missing.
  if (body === undefined || (isRecord(body) && isEmpty(body))) {
    return { kind: "invalid", error: "body is empty; expected a read-receipt JSON object" };
  }
  // The packet is checked whole, with the schema the worker reads it with: what passes here
  // is what the worker will apply, so nothing is acknowledged that it would refuse.
  const parsed = parseReceiptPacket({
    sdkAppId: query.sdkAppId,
    clientIp: query.clientIp ?? null,
    optPlatform: query.optPlatform ?? null,
    receivedAtMs: deps.nowMs(),
    receipt: body,
  });
  if (!parsed.ok) return { kind: "invalid", error: parsed.error };
  const packet = parsed.value;
  const messages = packet.receipt.GroupMsgReceiptList.length;
  if (messages === 0) return { kind: "ignored", reason: "no messages in GroupMsgReceiptList" };
  try {
    return { kind: "accepted", messages, storedIn: await deps.store.store(packet) };
  } catch (error) {
    return {
      kind: "unavailable",
      error: `cannot store the callback: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
}

/** The caller's text goes into replies and logs: keep it short. */
function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isEmpty(record: Record<string, unknown>): boolean {
  for (const _ in record) return false;
  return true;
}
