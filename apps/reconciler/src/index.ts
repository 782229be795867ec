export { loadConfig, type ReconcilerConfig } from "./load-config.js";
export { CallBudget, realClock, type Clock } from "./call-budget.js";
export { TencentClient, type CallResult, type AttemptCode } from "./tencent-client.js";
export { UserSigCache } from "./user-sig-cache.js";
export { runPass, type PassOptions, type PassReport } from "./run-pass.js";
export type { DifferenceRow, Stop } from "./pass-types.js";
export { createReconcilerMetrics, type ReconcilerMetrics } from "./reconciler-metrics.js";
export { startReconciler, type Reconciler } from "./start-reconciler.js";
