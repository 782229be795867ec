import { z } from "zod";
import { isStorableText, storableText } from "./storable-text.js";

/**
 * The admin REST APIs the reconciler calls, and the parts of their replies it reads. Every
 * reply carries its outcome in the body (`ActionStatus`, `ErrorCode`, `ErrorInfo`), not in
 * the HTTP status. Unknown fields are dropped, as with callbacks.
 */
export const REST_APIS = {
  get_group_msg_receipt: "group_open_http_svc/get_group_msg_receipt",
  get_group_msg_receipt_detail: "group_open_http_svc/get_group_msg_receipt_detail",
  get_group_info: "group_open_http_svc/get_group_info",
  group_msg_get_simple: "group_open_http_svc/group_msg_get_simple",
} as const;

export type RestApi = keyof typeof REST_APIS;

/** A message's `Code` in get_group_msg_receipt: it was sent without a read receipt, or that expired. */
export const NO_RECEIPT_CODE = 10062;
/** Most readers get_group_msg_receipt_detail returns per page. */
export const MAX_DETAIL_PAGE = 200;
/** Most messages group_msg_get_simple returns per page. */
export const MAX_HISTORY_PAGE = 20;
/** Most groups get_group_info takes per call. */
export const MAX_GROUP_INFO_IDS = 50;

export const restEnvelopeSchema = z.object({
  ActionStatus: z.string().optional(),
  ErrorCode: z.int().default(0),
  ErrorInfo: z.string().default(""),
});

const seq = z.int().min(0);

/**
 * A reader's account as the merge can store it: a NUL fails the write, and two accounts that
 * differ only in lone surrogates would become one key (node-postgres sends both as U+FFFD).
 * A reply listing such an account fails the schema and its message is recorded and skipped.
 */
const account = storableText(128);
// The docs give integers; a flag sent as a boolean costs nothing to accept.
const flag = z.union([z.int(), z.boolean()]).transform((v) => v === true || v === 1);

export const receiptCountsSchema = z.object({
  GroupMsgReceiptList: z
    .array(
      z.object({
        Code: z.int().default(0),
        MsgSeq: seq,
        ReadNum: z.int().min(0).default(0),
        UnreadNum: z.int().min(0).default(0),
      }),
    )
    .default([]),
});

/**
 * The finished flag is `IsFinish` in the docs' prose and `IsFinished` in Tencent's Java SDK
 * model; which one the wire carries is unconfirmed, so either counts.
 */
export const receiptDetailSchema = z
  .object({
    ReadList: z.array(z.object({ Read_Account: account })).optional(),
    UnreadList: z.array(z.object({ Unread_Account: account })).optional(),
    Cursor: z.string().default(""),
    IsFinish: flag.optional(),
    IsFinished: flag.optional(),
  })
  .transform((r) => ({
    accounts: r.ReadList ? r.ReadList.map((m) => m.Read_Account) : (r.UnreadList ?? []).map((m) => m.Unread_Account),
    cursor: r.Cursor,
    finished: r.IsFinish ?? r.IsFinished,
  }));

export const groupInfoSchema = z.object({
  GroupInfo: z
    .array(
      z.object({
        GroupId: z.string(),
        ErrorCode: z.int().default(0),
        ErrorInfo: z.string().default(""),
        // Stored only for a message we hold no row of; an odd one is ignored, not fatal.
        Type: z.string().min(1).max(32).refine(isStorableText).optional().catch(undefined),
        NextMsgSeq: seq.optional(),
        LastMsgTime: z.int().optional(),
      }),
    )
    .default([]),
});

export const historySchema = z.object({
  RspMsgList: z
    .array(
      z.object({
        MsgSeq: seq,
        MsgTimeStamp: z.int().optional(),
        IsPlaceMsg: flag.default(false),
        From_Account: z.string().optional(),
      }),
    )
    .default([]),
  IsFinished: flag.optional(),
});

/**
 * What to do about an ErrorCode:
 * - `rate_limited`, `unavailable`: back off and retry;
 * - `sig_expired`: make a new UserSig and retry once;
 * - `configuration`: wrong key, not an admin, wrong edition, IP not allowed: retrying cannot
 *   help, so stop and tell the operator;
 * - `group_gone`: record it and skip the group;
 * - `skip`: invalid parameter or a code not in the docs: record it and skip the item.
 */
type RestErrorClass = "rate_limited" | "unavailable" | "sig_expired" | "configuration" | "group_gone" | "skip";

const ERROR_CLASSES: Record<number, RestErrorClass> = {
  60007: "rate_limited",
  60011: "rate_limited",
  60018: "rate_limited",
  60019: "rate_limited",
  60008: "unavailable",
  10002: "unavailable",
  70001: "sig_expired",
  70003: "configuration",
  70009: "configuration",
  70013: "configuration",
  70014: "configuration",
  70016: "configuration",
  70020: "configuration",
  60010: "configuration",
  10007: "configuration",
  60020: "configuration",
  10059: "configuration",
  60021: "configuration",
  10010: "group_gone",
  10015: "group_gone",
  10004: "skip",
};

export function classifyRestError(code: number): RestErrorClass {
  return ERROR_CLASSES[code] ?? "skip";
}
