export { loadConfig, type WorkerConfig } from "./load-config.js";
export { startWorker, type ReceiptWorker } from "./start-worker.js";
export { createJobProcessor } from "./create-job-processor.js";
export { createWorkerMetrics, type WorkerMetrics } from "./worker-metrics.js";
