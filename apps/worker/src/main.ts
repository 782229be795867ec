import { exitOnSignals, loadConfigOrExit } from "@receipt-sync/runtime";
import { loadConfig } from "./config.js";
import { startWorker } from "./build-worker.js";

const worker = await startWorker(loadConfigOrExit(loadConfig));
exitOnSignals(worker.shutdown, worker.log);
