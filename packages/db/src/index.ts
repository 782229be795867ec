export { createDatabase, type Database, type DatabaseOptions } from "./create-database.js";
export { applyReceipts, type ApplyResult } from "./apply-receipts.js";
export { migrate, readMigrations, DEFAULT_MIGRATIONS_DIR, type MigrateResult } from "./migrate.js";
export { receiptColumnsOf, ReceiptColumns, type Statement } from "./receipt-sql.js";
export { findReceipts, type MessageReceipt } from "./find-receipts.js";
export { laneOf, splitByLane } from "./write-lanes.js";
export { receiptDifferences, messageKey, type ReceiptState, type Difference } from "./receipt-differences.js";
export {
  findActiveGroups,
  findGroupSummary,
  findStoredReceipts,
  type ActiveGroup,
  type MessageRef,
} from "./reconcile-queries.js";
export { applyRepairs, type Repair, type AppliedRepair } from "./apply-repairs.js";
export { recordSkips, type Skip } from "./record-skips.js";
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
export { ensureDatabase } from "./ensure-database.js";
export { pruneExpired, RETENTION_DAY_MS, PRUNE_DEFAULTS, type PruneOptions, type PrunedRows } from "./prune-expired.js";
