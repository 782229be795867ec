export {
  RECEIPT_QUEUE_NAME,
  openReceiptQueue,
  RECEIPT_JOB_NAME,
  RECEIPT_JOB_OPTIONS,
  MAX_TRIES,
  receiptRetryDelayMs,
  receiptPacketWeight,
  wirePacketWeight,
  parseReceiptJob,
  addReceiptJob,
  checkedJob,
  uncheckedJob,
  trustedPackets,
  stampOf,
  stampOfJson,
  type ReceiptJobData,
} from "./contract.js";
export { ReceiptJobWorker, stampHeldOnStore } from "./receipt-job-worker.js";
export { createRedis, waitForRedis, type RedisClient } from "./create-redis.js";
export { isClusterUrl, resolveQueuePrefix, envRedisUrl, envQueuePrefix } from "./redis-url.js";
export { rateLimitAlertKey, raiseRateLimitAlert, rateLimitAlertActive } from "./rate-limit-alert.js";
export { MAINTENANCE_QUEUE_NAME, PRUNE_JOB_NAME, PRUNE_SCHEDULER_ID, parsePruneJob } from "./maintenance.js";
