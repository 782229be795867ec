import { exitOnSignals, loadConfigOrExit } from "@receipt-sync/runtime";
import { loadConfig } from "./config.js";
import { startReconciler } from "./build-reconciler.js";

const reconciler = await startReconciler(loadConfigOrExit(loadConfig));
exitOnSignals(reconciler.shutdown, reconciler.log);
