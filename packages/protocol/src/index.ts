export {
  READ_RECEIPT_COMMAND,
  MAX_EVENT_TIME_MS,
  MAX_MESSAGES_PER_PACKET,
  MAX_READERS_PER_MESSAGE,
  MAX_READERS_PER_PACKET,
  readReceiptCallbackSchema,
  sdkAppIdSchema,
  sdkAppIdListSchema,
  type ReadReceiptCallback,
  type GroupMsgReceipt,
} from "./read-receipt.js";
export { parseWith, type ParseResult } from "./parse-with.js";
export { isStorableText, storableText } from "./storable-text.js";
export { computeSign, verifySign, SIGN_WINDOW_SECONDS, type SignCheck } from "./verify-sign.js";
export { OK_REPLY, ErrorCodes, failReply, type TencentReply } from "./tencent-reply.js";
export { parseCallbackQuery, type CallbackQuery } from "./callback-query.js";
export { receiptPacketSchema, parseReceiptPacket, MAX_QUERY_TEXT_CHARS, type ReceiptPacket } from "./receipt-packet.js";
export { genUserSig, type UserSigInput } from "./gen-user-sig.js";
export { REQUEST_OVER_LIMIT_COMMAND, parseRequestOverLimit, type RequestOverLimit } from "./request-over-limit.js";
export {
  REST_APIS,
  NO_RECEIPT_CODE,
  MAX_DETAIL_PAGE,
  MAX_HISTORY_PAGE,
  MAX_GROUP_INFO_IDS,
  restEnvelopeSchema,
  receiptCountsSchema,
  receiptDetailSchema,
  groupInfoSchema,
  historySchema,
  classifyRestError,
  type RestApi,
  type RestErrorClass,
  type ReceiptCounts,
  type ReceiptDetail,
  type GroupInfo,
  type History,
} from "./rest-api.js";
