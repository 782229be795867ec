import { ConfigError, exitOnSignals } from "@receipt-sync/runtime";
import { loadConfig } from "./config.js";
import { startWorker } from "./build-worker.js";

let config;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}
const worker = await startWorker(config);
exitOnSignals(worker.shutdown, worker.log);
