// `npm run prune -- [--days N] [--batch-rows N] [--pause-ms N]`: one prune run now, as the
// worker's scheduled job does it (RETENTION_DAYS unless --days). Safe beside running workers.
import { parseCliArgs, usageError } from "@receipt-sync/runtime";
import { loadCliConfig } from "./load-cli-config.js";
import { createDatabase } from "./create-database.js";
import { envRetentionDays, pruneExpired, RETENTION_DAY_MS, type PrunedRows } from "./prune-expired.js";

const USAGE =
  "usage: npm run prune -- [--days N] [--batch-rows 500] [--pause-ms 100]   (--days defaults to RETENTION_DAYS)";

const fail: (message: string) => never = usageError(USAGE);

function wholeNumber(name: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined || text === "") return undefined;
  if (!/^[0-9]+$/.test(text) || Number(text) < min) fail(`${name} must be a whole number from ${min}`);
  return Number(text);
}

const { values } = parseCliArgs(
  { days: { type: "string" }, "batch-rows": { type: "string" }, "pause-ms": { type: "string" } },
  USAGE,
);
const { DATABASE_URL: databaseUrl, RETENTION_DAYS } = loadCliConfig({ RETENTION_DAYS: envRetentionDays });
const days = wholeNumber("--days", values.days, 1) ?? RETENTION_DAYS;
if (days === undefined) fail("nothing to do: RETENTION_DAYS is unset (keep for ever) and no --days was given");
const batchRows = wholeNumber("--batch-rows", values["batch-rows"], 1);
const pauseMs = wholeNumber("--pause-ms", values["pause-ms"], 0);

const cutoffMs = Date.now() - days * RETENTION_DAY_MS;
const stopping = new AbortController();
process.once("SIGINT", () => stopping.abort());
process.once("SIGTERM", () => stopping.abort());
const db = createDatabase({ databaseUrl, poolMax: 1 });
const startedMs = Date.now();
let batches = 0;
try {
  console.log(`pruning what is older than ${new Date(cutoffMs).toISOString()} (${days} days)`);
  const pruned: PrunedRows = await pruneExpired(db, {
    cutoffMs,
    batchRows,
    pauseMs,
    signal: stopping.signal,
    onBatch: () => {
      batches += 1;
      if (process.stderr.isTTY && batches % 50 === 0) process.stderr.write(`\r${batches} batches`);
    },
  });
  if (process.stderr.isTTY && batches >= 50) process.stderr.write("\n");
  console.table(Object.entries(pruned).map(([table, rows]) => ({ table, rows })));
  console.log(
    `${stopping.signal.aborted ? "stopped" : "done"} after ${batches} batches in ${((Date.now() - startedMs) / 1000).toFixed(1)} s`,
  );
} catch (error) {
  console.error(`prune failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  await db.$disconnect();
}
