// `npm run quarantine -- list [--json] | retry [id...] | purge [id...]`: callbacks that could not be written.
import { parseCliArgs, usageError } from "@receipt-sync/runtime";
import { loadCliConfig } from "./load-cli-config.js";
import { createDatabase } from "./create-database.js";
import { listQuarantined, purgeQuarantined, retryQuarantined } from "./quarantine.js";

const USAGE = "usage: npm run quarantine -- list [--json] | retry [id...] | purge [id...]";

const fail: (message: string) => never = usageError(USAGE);
const parsed = parseCliArgs({ json: { type: "boolean" } }, USAGE, true);
const [command, ...ids] = parsed.positionals;
if (!command || !["list", "retry", "purge"].includes(command)) {
  console.error(USAGE);
  process.exit(2);
}
if (ids.some((id) => !/^[0-9]{1,18}$/.test(id))) fail("ids are whole numbers, as list shows them");
const { DATABASE_URL: databaseUrl } = loadCliConfig();

const db = createDatabase({ databaseUrl, poolMax: 1 });
try {
  if (command === "list") {
    const rows = await listQuarantined(db, ids);
    if (parsed.values.json) console.log(JSON.stringify(rows, null, 2));
    else if (rows.length === 0) console.log("no quarantined callbacks");
    else
      console.table(
        rows.map(({ payloadText, error, ...row }) => ({ ...row, error: clip(error), bytes: payloadText.length })),
      );
  } else if (command === "retry") {
    const outcomes = await retryQuarantined(db, ids);
    const applied = outcomes.filter((o) => o.result === "applied").length;
    for (const o of outcomes)
      if (o.result !== "applied") console.log(`${o.id}: ${o.result.replace("_", " ")}: ${clip(o.error ?? "")}`);
    console.log(`applied ${applied} of ${outcomes.length} quarantined callback(s)`);
    if (applied < outcomes.length) process.exitCode = 1;
  } else {
    console.log(`purged ${await purgeQuarantined(db, ids)} quarantined callback(s)`);
  }
} catch (error) {
  console.error(`quarantine ${command} failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  await db.$disconnect();
}

function clip(text: string): string {
  const line = text.replace(/\s+/g, " ");
  return line.length > 100 ? `${line.slice(0, 100)}…` : line;
}
