import { ConfigError, exitOnSignals, loadConfigOrExit } from "@receipt-sync/runtime";
import { loadConfig } from "./load-config.js";
import { startIngest } from "./start-ingest.js";

const ingest = await startIngest(loadConfigOrExit(loadConfig)).catch((error: unknown) => {
  // A setting that cannot work here (a SPOOL_DIR another ingest holds): one line, exit 1.
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
});
exitOnSignals(ingest.shutdown, ingest.log);
