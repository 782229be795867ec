import type { Server } from "node:http";
import { createLogger, createShutdown, type Logger } from "@receipt-sync/runtime";
import type { IngestConfig } from "./load-config.js";
import type { Express } from "express";
import { createAdminApp } from "./create-admin-app.js";
import { createApp } from "./create-app.js";
import { openDurableStore, type DurableStore } from "./durable-store.js";
import { MeteredStore } from "./metered-store.js";
import { createIngestMetrics } from "./ingest-metrics.js";
import { alertSignal } from "./handle-rate-limit-alert.js";

export type Ingest = {
  server: Server;
  port: number;
  /** The admin listener's port (/metrics, /readyz in detail, Bull Board); undefined without ADMIN_PORT. */
  adminPort: number | undefined;
  store: DurableStore;
  log: Logger;
  /** Stops HTTP, waits for accepted callbacks to be durable, re-drives the spool if it can, closes; true when clean. */
  shutdown: () => Promise<boolean>;
};

/** Builds every dependency from the config and starts listening. Tests and main use this alike. */
export async function startIngest(
  config: IngestConfig,
  log = createLogger({ name: "ingest", level: config.logLevel }),
): Promise<Ingest> {
  const store = await openDurableStore({
    redisUrl: config.redisUrl,
    queuePrefix: config.queuePrefix,
    enqueueTimeoutMs: config.enqueueTimeoutMs,
    spool: {
      dir: config.spoolDir,
      instance: config.instance,
      maxBytes: config.spoolMaxBytes,
      segmentBytes: config.spoolSegmentBytes,
    },
    log,
  });
  const metrics = createIngestMetrics({
    spoolDepth: store.spoolDepth,
    breakerOpen: store.breakerOpen,
    orphansAdopted: store.orphansAdopted,
  });
  const app = createApp({
    callbackPath: config.callbackPath,
    bodyLimitBytes: config.bodyLimitBytes,
    trustProxyHops: config.trustProxyHops,
    callback: {
      sdkAppIds: config.sdkAppIds,
      callbackToken: config.callbackToken,
      allowedSources: config.allowedSources,
      store: new MeteredStore(store.store, metrics.recordStore),
      maxInFlightRequests: config.maxInFlightRequests,
      nowMs: Date.now,
      onRateLimitAlert: alertSignal(store.redis, config.queuePrefix, config.enqueueTimeoutMs, log),
    },
    readiness: store.readiness,
    metrics,
    log,
  });
  const server = await listen(app, config.port);
  // Load balancers and HTTP clients keep idle connections for up to a minute; with Node's 5 s
  // default the server closes one just as a client sends on it, and that callback is lost.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  const port = portOf(server, config.port);
  log.info({ port, path: config.callbackPath }, "ingest listening");
  if (config.callbackToken === undefined) {
    log.warn(
      { path: config.callbackPath },
      "CALLBACK_TOKEN is not set: anyone who can reach this URL and knows a served SdkAppid can post read receipts that will be stored; set the console's callback token, or ALLOWED_SOURCE_CIDRS",
    );
  }

  const bullBoard = config.admin ? { queue: store.queue, credentials: config.admin } : undefined;
  const adminServer =
    config.adminPort === undefined
      ? undefined
      : await listen(createAdminApp({ metrics, readiness: store.readiness, bullBoard }), config.adminPort);
  const adminPort = adminServer ? portOf(adminServer, config.adminPort!) : undefined;
  if (adminPort !== undefined)
    log.info({ adminPort, bullBoard: bullBoard !== undefined }, "admin listening (/metrics, /readyz, /admin/queues)");

  const stepMs = config.shutdownTimeoutMs;
  const shutdown = createShutdown(
    [
      { name: "stop accepting callbacks", timeoutMs: stepMs, run: () => closeServer(server) },
      ...store.shutdownSteps(stepMs),
      // Last, so /metrics and /readyz answer while the steps above run.
      ...(adminServer
        ? [{ name: "stop the admin listener", timeoutMs: stepMs, run: () => closeServer(adminServer) }]
        : []),
    ],
    log,
  );
  return { server, port, adminPort, store, log, shutdown };
}

function listen(app: Express, port: number): Promise<Server> {
  return new Promise<Server>((resolve, reject) => {
    const listening = app.listen(port, () => resolve(listening));
    listening.once("error", reject);
  });
}

function portOf(server: Server, configured: number): number {
  const address = server.address();
  return typeof address === "object" && address ? address.port : configured;
}

/** Stops new connections and waits for in-flight requests; idle keep-alive sockets are closed. */
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeIdleConnections();
  });
}
