export {
  createDatabase,
  executeStatement,
  queryInTransaction,
  type Database,
  type Statement,
} from "./create-database.js";
export { applyReceipts, applyWirePackets } from "./apply-receipts.js";
export { migrate, readMigrations, DEFAULT_MIGRATIONS_DIR } from "./migrate.js";
export { receiptColumnsOf } from "./receipt-sql.js";
export { splitByLane } from "./write-lanes.js";
export { receiptDifferences, messageKey, type ReceiptState, type Difference } from "./receipt-differences.js";
export { findActiveGroups, findGroupSummary, findStoredReceipts, type ActiveGroup } from "./reconcile-queries.js";
export { applyRepairs, type Repair } from "./apply-repairs.js";
export { recordSkips, type Skip } from "./record-skips.js";
export { quarantineCallbacks, sqlStateOf, type QuarantineEntry } from "./quarantine.js";
export { ensureDatabase } from "./ensure-database.js";
export { envRetentionDays, pruneExpired, RETENTION_DAY_MS, PRUNE_DEFAULTS, type PrunedRows } from "./prune-expired.js";
