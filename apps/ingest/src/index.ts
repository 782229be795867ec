export { loadConfig, type IngestConfig } from "./load-config.js";
export { startIngest, type Ingest } from "./start-ingest.js";
export { createApp, type AppDeps } from "./create-app.js";
export { checkCaller, handleCallback, type CallbackDeps } from "./handle-callback.js";
export { replyFor, type CallbackOutcome } from "./reply.js";
export { createIngestMetrics, type IngestMetrics } from "./ingest-metrics.js";
export {
  openDurableStore,
  type DurableStore,
  type DurableStoreOptions,
  type Readiness,
  type StoredIn,
} from "./durable-store.js";
