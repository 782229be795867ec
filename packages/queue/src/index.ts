export {
  RECEIPT_QUEUE_NAME,
  RECEIPT_JOB_NAME,
  RECEIPT_JOB_OPTIONS,
  MAX_RETRY_DELAY_MS,
  MAX_TRIES,
  receiptRetryDelayMs,
  receiptPacketWeight,
  DEFAULT_QUEUE_PREFIX,
  receiptJobSchema,
  parseReceiptJob,
  addReceiptJob,
  type ReceiptJobData,
} from "./contract.js";
export { createRedis, waitForRedis, type RedisRole } from "./connection.js";
export { RATE_LIMIT_ALERT_TTL_MS, rateLimitAlertKey, raiseRateLimitAlert, rateLimitAlertActive } from "./rate-limit-alert.js";
