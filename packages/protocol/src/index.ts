export {
  READ_RECEIPT_COMMAND,
  MAX_EVENT_TIME_MS,
  MAX_MESSAGES_PER_PACKET,
  MAX_READERS_PER_MESSAGE,
  readReceiptCallbackSchema,
  sdkAppIdSchema,
  type ReadReceiptCallback,
  type GroupMsgReceipt,
} from "./read-receipt.js";
export { parseWith, type ParseResult } from "./parse-with.js";
export { isStorableText, storableText } from "./storable-text.js";
export { computeSign, verifySign, SIGN_WINDOW_SECONDS, type SignCheck } from "./verify-sign.js";
export { OK_REPLY, ErrorCodes, failReply, type TencentReply } from "./envelope.js";
export { parseCallbackQuery, type CallbackQuery } from "./callback-query.js";
export { receiptPacketSchema, parseReceiptPacket, MAX_QUERY_TEXT_CHARS, type ReceiptPacket } from "./receipt-packet.js";
