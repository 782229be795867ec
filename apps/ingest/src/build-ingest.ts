import type { Server } from "node:http";
import { createLogger, createShutdown, type Logger } from "@receipt-sync/runtime";
import type { IngestConfig } from "./config.js";
import { createApp } from "./create-app.js";
import { createAdminRouter } from "./admin.js";
import { openDurableStore, type DurableStore } from "./durable-store.js";
import { createIngestMetrics } from "./metrics.js";
import { alertSignal } from "./rate-limit-alert.js";

export type Ingest = {
  server: Server;
  port: number;
  store: DurableStore;
  log: Logger;
  /** Stops HTTP, waits for accepted callbacks to be durable, re-drives the spool if it can, closes; true when clean. */
  shutdown: () => Promise<boolean>;
};

/** Builds every dependency from the config and starts listening. Tests and main use this alike. */
export async function startIngest(config: IngestConfig, log = createLogger({ name: "ingest", level: config.logLevel })): Promise<Ingest> {
  const store = await openDurableStore({
    redisUrl: config.redisUrl,
    queuePrefix: config.queuePrefix,
    enqueueTimeoutMs: config.enqueueTimeoutMs,
    spool: { dir: config.spoolDir, maxBytes: config.spoolMaxBytes, segmentBytes: config.spoolSegmentBytes },
    log,
  });
  const metrics = createIngestMetrics({ spoolDepth: store.spoolDepth, breakerOpen: store.breakerOpen });
  const app = createApp({
    metrics,
    adminRouter: config.admin ? createAdminRouter(store.queue, config.admin) : undefined,
    callbackPath: config.callbackPath,
    bodyLimitBytes: config.bodyLimitBytes,
    maxInFlightRequests: config.maxInFlightRequests,
    callback: {
      sdkAppIds: config.sdkAppIds,
      callbackToken: config.callbackToken,
      store: store.store,
      nowMs: Date.now,
      onRateLimitAlert: alertSignal(store.redis, config.queuePrefix, config.enqueueTimeoutMs, log),
    },
    readiness: store.readiness,
    log,
  });

  const server = await new Promise<Server>((resolve, reject) => {
    const listening = app.listen(config.port, () => resolve(listening));
    listening.once("error", reject);
  });
  // Load balancers and HTTP clients keep idle connections for up to a minute; with Node's 5 s
  // default the server closes one just as a client sends on it, and that callback is lost.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  log.info({ port, path: config.callbackPath }, "ingest listening");
  if (config.callbackToken === undefined) {
    log.warn(
      { path: config.callbackPath },
      "CALLBACK_TOKEN is not set: anyone who can reach this URL and knows a served SdkAppid can post read receipts that will be stored; set the console's callback token, or an allowlist in front",
    );
  }

  const stepMs = config.shutdownTimeoutMs;
  const shutdown = createShutdown([{ name: "stop accepting callbacks", timeoutMs: stepMs, run: () => closeServer(server) }, ...store.shutdownSteps(stepMs)], log);
  return { server, port, store, log, shutdown };
}

/** Stops new connections and waits for in-flight requests; idle keep-alive sockets are closed. */
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeIdleConnections();
  });
}
