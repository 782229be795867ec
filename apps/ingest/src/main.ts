import { exitOnSignals, loadConfigOrExit } from "@receipt-sync/runtime";
import { loadConfig } from "./config.js";
import { startIngest } from "./build-ingest.js";

const ingest = await startIngest(loadConfigOrExit(loadConfig));
exitOnSignals(ingest.shutdown, ingest.log);
