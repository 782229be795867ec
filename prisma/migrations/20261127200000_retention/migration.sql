-- Retention (RETENTION_DAYS): the pruner walks the ledger oldest first by event_time, and
-- every other expiry is found from there (see packages/db/src/prune-sql.ts).
--
-- On a large existing ledger this index build blocks writes to read_receipt_events while it
-- runs. Build it beforehand without blocking, under the same name, and this step is skipped:
--   CREATE INDEX CONCURRENTLY "read_receipt_events_event_time_idx" ON "read_receipt_events"("event_time");

-- CreateIndex
CREATE INDEX IF NOT EXISTS "read_receipt_events_event_time_idx" ON "read_receipt_events"("event_time");
