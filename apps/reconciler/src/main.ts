import { exitOnSignals, loadConfigOrExit } from "@receipt-sync/runtime";
import { loadConfig } from "./load-config.js";
import { startReconciler } from "./start-reconciler.js";

const reconciler = await startReconciler(loadConfigOrExit(loadConfig));
exitOnSignals(reconciler.shutdown, reconciler.log);
