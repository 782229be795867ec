import { ConfigError, exitOnSignals } from "@receipt-sync/runtime";
import { loadConfig } from "./config.js";
import { startIngest } from "./build-ingest.js";

let config;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}
const ingest = await startIngest(config);
exitOnSignals(ingest.shutdown, ingest.log);
