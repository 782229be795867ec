import {
  READ_RECEIPT_COMMAND,
  REQUEST_OVER_LIMIT_COMMAND,
  parseCallbackQuery,
  parseReceiptPacket,
  verifySign,
  type CallbackQuery,
  type ReceiptPacket,
  type RequestOverLimit,
} from "@receipt-sync/protocol";
import type { StoredIn } from "./durable-store.js";
import { handleRateLimitAlert } from "./rate-limit-alert.js";

/** What became of one callback. The HTTP layer only maps this to a status and an envelope. */
export type CallbackOutcome =
  | { kind: "accepted"; messages: number; storedIn: StoredIn }
  | { kind: "ignored"; reason: string }
  | { kind: "alert"; passedOn: boolean }
  | { kind: "invalid"; error: string }
  | { kind: "forbidden"; error: string }
  | { kind: "unauthenticated"; error: string }
  | { kind: "unavailable"; error: string };

export type CallbackDeps = {
  sdkAppIds: ReadonlySet<string>;
  callbackToken: string | undefined;
  /** Resolves once the packet is durable; rejects when nothing could keep it. */
  store: (packet: ReceiptPacket) => Promise<StoredIn>;
  nowMs: () => number;
  /** Tencent's Alert.RequestOverLimit for an app of ours: tell the reconciler to slow down. */
  onRateLimitAlert?: (sdkAppId: string, alert: RequestOverLimit) => Promise<void>;
};

export type CheckedCaller = { ok: true; query: CallbackQuery } | { ok: false; outcome: CallbackOutcome };

/**
 * Everything that can be decided from the URL alone, before the body is read: who is
 * calling, whether they signed it, and whether the command is one we handle at all.
 */
export function checkCaller(rawQuery: Record<string, unknown>, deps: CallbackDeps): CheckedCaller {
  const parsed = parseCallbackQuery(rawQuery);
  if (!parsed.ok) return { ok: false, outcome: { kind: "invalid", error: parsed.error } };
  const query = parsed.value;
  if (!deps.sdkAppIds.has(query.sdkAppId)) {
    return { ok: false, outcome: { kind: "forbidden", error: `SdkAppid ${query.sdkAppId} is not served here` } };
  }
  if (deps.callbackToken !== undefined) {
    const sign = verifySign({ token: deps.callbackToken, sign: query.sign, requestTime: query.requestTime, nowMs: deps.nowMs() });
    if (!sign.ok) return { ok: false, outcome: { kind: "unauthenticated", error: sign.reason } };
  }
  // One URL receives every callback the operator switched on. Anything but ours is
  // acknowledged and dropped: a non-zero code on a "before" callback would block users.
  if (query.callbackCommand !== undefined && !HANDLED_COMMANDS.has(query.callbackCommand)) {
    return { ok: false, outcome: { kind: "ignored", reason: `command ${query.callbackCommand} is not handled` } };
  }
  return { ok: true, query };
}

const HANDLED_COMMANDS = new Set([READ_RECEIPT_COMMAND, REQUEST_OVER_LIMIT_COMMAND]);

/** Validates the body of an authorised caller and enqueues it; resolves once Redis has it. */
export async function handleCallback(query: CallbackQuery, body: unknown, deps: CallbackDeps): Promise<CallbackOutcome> {
  if ((query.callbackCommand ?? (isRecord(body) ? body.CallbackCommand : undefined)) === REQUEST_OVER_LIMIT_COMMAND) {
    return handleRateLimitAlert(query, body, deps);
  }
  // body-parser turns an empty body into {}; both mean Tencent's packet is missing.
  if (body === undefined || (isRecord(body) && Object.keys(body).length === 0)) {
    return { kind: "invalid", error: "body is empty; expected a read-receipt JSON object" };
  }
  const bodyCommand = isRecord(body) ? body.CallbackCommand : undefined;
  if (query.callbackCommand === undefined && typeof bodyCommand === "string" && bodyCommand !== READ_RECEIPT_COMMAND) {
    return { kind: "ignored", reason: `command ${clip(bodyCommand)} is not handled` };
  }
  if (query.callbackCommand !== undefined && bodyCommand !== undefined && bodyCommand !== query.callbackCommand) {
    return { kind: "invalid", error: `CallbackCommand: body says ${clip(JSON.stringify(bodyCommand) ?? "")} but the query says ${query.callbackCommand}` };
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
  const receipt = packet.receipt;
  if (receipt.GroupMsgReceiptList.length === 0) return { kind: "ignored", reason: "no messages in GroupMsgReceiptList" };
  try {
    const storedIn = await deps.store(packet);
    return { kind: "accepted", messages: receipt.GroupMsgReceiptList.length, storedIn };
  } catch (error) {
    return { kind: "unavailable", error: `cannot store the callback: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** The caller's text goes into replies and logs: keep it short. */
function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
