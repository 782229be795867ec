import { z } from "zod";
import { storableText } from "./storable-text.js";

export const READ_RECEIPT_COMMAND = "Group.CallbackAfterReadReceipt";

/** Read receipts exist only in groups of at most 200 members; the cap leaves room and stops abuse. */
const MAX_READERS_PER_MESSAGE = 1000;
/**
 * Readers in one callback: 50 messages (the most the REST API marks at once) in a group of 200.
 * It also bounds what one callback costs the worker in memory and time.
 */
const MAX_READERS_PER_PACKET = 10_000;
/** The REST API marks at most 50 MsgSeqs per call; clients send fewer. */
const MAX_MESSAGES_PER_PACKET = 1000;
/** 9999-12-31T23:59:59.999Z: anything later is not a timestamp a client produced. */
const MAX_EVENT_TIME_MS = 253_402_300_799_999;
const POSTGRES_INT_MAX = 2_147_483_647;

/** An SDKAppID as Tencent writes it: digits, stored as BIGINT. */
/** An SDKAppID as text: the one pattern the schemas below and the query check share. */
export const SDK_APP_ID = /^[0-9]{1,18}$/;
export const sdkAppIdSchema = z.string().regex(SDK_APP_ID, "must be a number");

/** The SDKAppIDs a deployment serves, as configured (SDKAPPID). */
export const sdkAppIdListSchema = z
  .array(z.string().regex(SDK_APP_ID, "must list numeric SDKAppIDs"))
  .min(1, "must list at least one SDKAppID");

// zod's int() already restricts to safe integers, so a MsgSeq beyond 2^53 (which JSON.parse
// would silently round) is rejected instead of being stored as a different message.
const count = z.int().min(0).max(POSTGRES_INT_MAX);

/** Tencent's table says integer, its sample sends a digit string: accept both. */
const eventTimeMs = z
  .union([
    z.int(),
    z
      .string()
      .regex(/^[0-9]{1,16}$/, "must be milliseconds since epoch")
      .transform(Number),
  ])
  .pipe(z.int().min(1).max(MAX_EVENT_TIME_MS, "is beyond the year 9999"));

const readReceiptMemberSchema = z.object({ Member_Account: storableText(128) });

const groupMsgReceiptSchema = z.object({
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
  GroupId: storableText(128),
  Type: storableText(32),
  GroupMsgReceiptList: z
    .array(groupMsgReceiptSchema)
    .max(MAX_MESSAGES_PER_PACKET)
    .refine(
      (list) => list.reduce((n, m) => n + (m.ReadReceiptMembers?.length ?? 0), 0) <= MAX_READERS_PER_PACKET,
      `must list at most ${MAX_READERS_PER_PACKET} readers in all`,
    ),
  EventTime: eventTimeMs,
});
