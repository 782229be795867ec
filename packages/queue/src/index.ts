export {
  RECEIPT_QUEUE_NAME,
  openReceiptQueue,
  RECEIPT_JOB_NAME,
  RECEIPT_JOB_OPTIONS,
  MAX_RETRY_DELAY_MS,
  MAX_TRIES,
  receiptRetryDelayMs,
  receiptPacketWeight,
  receiptJobSchema,
  parseReceiptJob,
  addReceiptJob,
  type ReceiptJobData,
} from "./contract.js";
export { createRedis, waitForRedis, type RedisClient, type RedisRole } from "./create-redis.js";
export {
  parseRedisUrl,
  isClusterUrl,
  hashTagOf,
  resolveQueuePrefix,
  envRedisUrl,
  envQueuePrefix,
  DEFAULT_REDIS_URL,
  DEFAULT_QUEUE_PREFIX,
  DEFAULT_CLUSTER_QUEUE_PREFIX,
  type RedisTarget,
} from "./redis-url.js";
export {
  RATE_LIMIT_ALERT_TTL_MS,
  rateLimitAlertKey,
  raiseRateLimitAlert,
  rateLimitAlertActive,
} from "./rate-limit-alert.js";
export {
  MAINTENANCE_QUEUE_NAME,
  PRUNE_JOB_NAME,
  PRUNE_SCHEDULER_ID,
  pruneJobSchema,
  parsePruneJob,
  type PruneJobData,
} from "./maintenance.js";
