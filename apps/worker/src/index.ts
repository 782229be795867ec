export { loadConfig, type WorkerConfig } from "./config.js";
export { startWorker, type ReceiptWorker } from "./build-worker.js";
export { createJobProcessor } from "./process-job.js";
export { createWorkerMetrics, type WorkerMetrics } from "./metrics.js";
