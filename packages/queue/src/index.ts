export {
  RECEIPT_QUEUE_NAME,
  RECEIPT_JOB_NAME,
  RECEIPT_JOB_OPTIONS,
  DEFAULT_QUEUE_PREFIX,
  receiptJobSchema,
  parseReceiptJob,
  addReceiptJob,
  type ReceiptJobData,
} from "./contract.js";
export { createRedis, waitForRedis, type RedisRole } from "./connection.js";
