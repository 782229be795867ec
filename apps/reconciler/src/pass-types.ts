import type { Database, Difference, ReceiptState, Skip } from "@receipt-sync/db";
import type { RestApi } from "@receipt-sync/protocol";
import type { CallResult, TencentClient } from "./tencent-client.js";

/** Why a pass ended early: a configuration error, or an API that kept refusing. */
export type Stop = { kind: "configuration" | "gave_up"; api: RestApi; code: number; info: string };

/** One message where our copy and Tencent's disagree. */
export type DifferenceRow = {
  groupId: string;
  msgSeq: number;
  differences: Difference[];
  ours: ReceiptState | undefined;
  theirs: ReceiptState;
  /** False in a dry run, or when the merge found nothing left to change (a callback won the race). */
  repaired: boolean;
};

/** What the pass counts for its metrics, as it goes. */
export type PassEvents = {
  checked?: (messages: number) => void;
  differences?: (rows: readonly DifferenceRow[]) => void;
  repaired?: (messages: number) => void;
  skipped?: (skips: readonly Skip[]) => void;
};

export type PassContext = {
  db: Database;
  client: TencentClient;
  sdkAppId: string;
  sinceMs: number;
  dryRun: boolean;
  receiptBatch: number;
  detailPageSize: number;
  signal: AbortSignal | undefined;
  events: PassEvents;
};

/** The failed CallResult of any call. */
export type Failure = Extract<CallResult<unknown>, { ok: false }>;

/** A failure that ends the pass, or undefined for one that is recorded and skipped. */
export function stopFor(failure: Failure): Stop | undefined {
  return failure.kind === "configuration" || failure.kind === "gave_up"
    ? { kind: failure.kind, api: failure.api, code: failure.code, info: failure.info }
    : undefined;
}

export function skipFor(failure: Failure, groupId: string, msgSeq: number | null): Skip {
  return { groupId, msgSeq, api: failure.api, errorCode: failure.code, errorInfo: failure.info };
}
