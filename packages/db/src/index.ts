export { createDatabase, type Database, type DatabaseOptions } from "./create-client.js";
export { applyReceipts, type ApplyResult } from "./apply-receipts.js";
export { reduceReceipts, isNewerSnapshot, type ReceiptRows } from "./reduce-receipts.js";
export { migrate, readMigrations, DEFAULT_MIGRATIONS_DIR, type MigrateResult } from "./migrate.js";
export { receiptStatements, type Statement } from "./receipt-sql.js";
export { findReceipts, type MessageReceipt } from "./find-receipts.js";
export { laneOf, splitByLane } from "./write-lanes.js";
export {
  quarantineCallbacks,
  listQuarantined,
  purgeQuarantined,
  retryQuarantined,
  sqlStateOf,
  type QuarantineEntry,
  type QuarantineReason,
  type QuarantinedCallback,
  type RetryOutcome,
} from "./quarantine.js";
