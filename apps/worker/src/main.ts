import { exitOnSignals, loadConfigOrExit } from "@receipt-sync/runtime";
import { loadConfig } from "./load-config.js";
import { startWorker } from "./start-worker.js";

const worker = await startWorker(loadConfigOrExit(loadConfig));
exitOnSignals(worker.shutdown, worker.log);
