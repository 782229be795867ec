import { z } from "zod";

export const READ_RECEIPT_COMMAND = "Group.CallbackAfterReadReceipt";

/** Read receipts exist only in groups of at most 200 members; the cap leaves room and stops abuse. */
export const MAX_READERS_PER_MESSAGE = 1000;
/** The REST API marks at most 50 MsgSeqs per call; clients send fewer. */
export const MAX_MESSAGES_PER_PACKET = 1000;
/** 9999-12-31T23:59:59.999Z: anything later is not a timestamp a client produced. */
export const MAX_EVENT_TIME_MS = 253_402_300_799_999;
const POSTGRES_INT_MAX = 2_147_483_647;

// Postgres text columns cannot hold U+0000; letting one through would poison the worker.
export const safeText = (maxChars: number) =>
  z
    .string()
    .min(1, "must not be empty")
    .max(maxChars, `must be at most ${maxChars} characters`)
    .refine((s) => !s.includes("\u0000"), "must not contain NUL characters");

// zod's int() already restricts to safe integers, so a MsgSeq beyond 2^53 (which JSON.parse
// would silently round) is rejected instead of being stored as a different message.
const count = z.int().min(0).max(POSTGRES_INT_MAX);

/** Tencent's table says integer, its sample sends a digit string: accept both. */
const eventTimeMs = z
  .union([z.int(), z.string().regex(/^[0-9]{1,16}$/, "must be milliseconds since epoch").transform(Number)])
  .pipe(z.int().min(1).max(MAX_EVENT_TIME_MS, "is beyond the year 9999"));

export const readReceiptMemberSchema = z.object({ Member_Account: safeText(128) });

export const groupMsgReceiptSchema = z.object({
  MsgSeq: z.int().min(0),
  ReadNum: count,
  UnreadNum: count,
  ReadReceiptMembers: z.array(readReceiptMemberSchema).max(MAX_READERS_PER_MESSAGE).optional(),
});

/**
 * The body of `Group.CallbackAfterReadReceipt`. Unknown fields are dropped, not rejected:
 * Tencent may add fields at any time.
 */
export const readReceiptCallbackSchema = z.object({
  CallbackCommand: z.literal(READ_RECEIPT_COMMAND),
  GroupId: safeText(128),
  Type: safeText(32),
  GroupMsgReceiptList: z.array(groupMsgReceiptSchema).max(MAX_MESSAGES_PER_PACKET),
  EventTime: eventTimeMs,
});

export type ReadReceiptCallback = z.output<typeof readReceiptCallbackSchema>;
export type GroupMsgReceipt = z.output<typeof groupMsgReceiptSchema>;

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

/** Formats the first few schema issues as `path: message`, e.g. `GroupMsgReceiptList.0.MsgSeq: ...`. */
export function describeIssues(error: z.ZodError, maxIssues = 3): string {
  const parts = error.issues.slice(0, maxIssues).map((issue) => {
    const path = issue.path.length > 0 ? issue.path.join(".") : "body";
    return `${path}: ${issue.message}`;
  });
  const more = error.issues.length - maxIssues;
  return more > 0 ? `${parts.join("; ")} (+${more} more)` : parts.join("; ");
}

export function parseReadReceipt(body: unknown): ParseResult<ReadReceiptCallback> {
  const result = readReceiptCallbackSchema.safeParse(body);
  return result.success ? { ok: true, value: result.data } : { ok: false, error: describeIssues(result.error) };
}
