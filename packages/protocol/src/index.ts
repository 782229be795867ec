export { READ_RECEIPT_COMMAND, sdkAppIdListSchema } from "./read-receipt.js";
export { parseWith, type ParseResult } from "./parse-with.js";
export { isStorableText } from "./storable-text.js";
export { computeSign, verifySign } from "./verify-sign.js";
export { OK_REPLY, ErrorCodes, failReply, type TencentReply } from "./tencent-reply.js";
export { parseCallbackQuery, type CallbackQuery } from "./callback-query.js";
export { parseReceiptPacket, RECEIPT_PACKET_SCHEMA_VERSION, type ReceiptPacket } from "./receipt-packet.js";
export { fromWire, toWire, type WireMessage, type WirePacket } from "./wire-packet.js";
export { genUserSig } from "./gen-user-sig.js";
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
} from "./rest-api.js";
