import type { Server } from "node:http";
import { Queue } from "bullmq";
import type { ReceiptPacket } from "@receipt-sync/protocol";
import { RECEIPT_QUEUE_NAME, ReceiptProducer, addReceiptJob, createRedis, type ReceiptJobData } from "@receipt-sync/queue";
import { createLogger, createShutdown, withTimeout, type Logger } from "@receipt-sync/runtime";
import type { IngestConfig } from "./config.js";
import { createApp, type Readiness } from "./create-app.js";
import type { StoredIn } from "./handle-callback.js";
import { createAdminRouter } from "./admin.js";
import { createIngestMetrics } from "./metrics.js";
import { Spool } from "./spool.js";
import { alertSignal } from "./rate-limit-alert.js";

export type Ingest = {
  server: Server;
  port: number;
  producer: ReceiptProducer;
  spool: Spool;
  log: Logger;
  /** Stops HTTP, waits for accepted callbacks to be durable, closes the queue; true when clean. */
  shutdown: () => Promise<boolean>;
};

const READY_PING_TIMEOUT_MS = 500;
const REDRIVE_INTERVAL_MS = 1000;

/** Builds every dependency from the config and starts listening. Tests and main use this alike. */
export async function startIngest(config: IngestConfig, log = createLogger({ name: "ingest", level: config.logLevel })): Promise<Ingest> {
  const redis = createRedis(config.redisUrl, "producer");
  redis.on("error", (error) => log.warn({ err: error.message }, "redis connection error"));
  const queue = new Queue<ReceiptJobData>(RECEIPT_QUEUE_NAME, { connection: redis, prefix: config.queuePrefix });
  queue.on("error", (error) => log.warn({ err: error.message }, "queue error"));
  const producer = new ReceiptProducer({ queue, addTimeoutMs: config.enqueueTimeoutMs });
  const spool = await Spool.open({
    dir: config.spoolDir,
    maxBytes: config.spoolMaxBytes,
    enqueue: (packets) => addReceiptJob(queue, packets, config.enqueueTimeoutMs),
    log,
  });
  const redisAnswers = () => pingWithin(redis, READY_PING_TIMEOUT_MS);

  // Tencent does not retry this callback by default: what Redis cannot take right now goes
  // to the fsync'd spool, and only if that fails too does Tencent see a 503.
  const store = async (packet: ReceiptPacket): Promise<StoredIn> => {
    try {
      await producer.enqueue(packet);
      return "queue";
    } catch (queueError) {
      // One line when spooling starts, not one per callback while Redis stays away.
      if (spool.depth === 0) log.warn({ err: (queueError as Error).message }, "queue refused a callback; spooling until Redis is back");
      await spool.append(packet);
      return "spool";
    }
  };

  const redriveTimer = setInterval(() => {
    if (spool.depth === 0) return;
    void redisAnswers().then((up) => {
      if (!up) return;
      spool.redrive().catch((error: unknown) => log.warn({ err: (error as Error).message }, "re-drive stopped; will retry"));
    });
  }, REDRIVE_INTERVAL_MS);
  if (spool.depth > 0) log.warn({ spooled: spool.depth }, "spool holds callbacks from an earlier run; re-driving");

  const readiness = async (): Promise<Readiness> => {
    const queueUp = await redisAnswers();
    const status = queueUp && spool.depth === 0 ? "ready" : queueUp || spool.hasRoom ? "degraded" : "unavailable";
    return { status, queue: queueUp ? "ok" : "unreachable", spooled: spool.depth };
  };

  const metrics = createIngestMetrics(() => spool.depth);
  const app = createApp({
    metrics,
    adminRouter: config.admin ? createAdminRouter(queue, config.admin) : undefined,
    callbackPath: config.callbackPath,
    bodyLimitBytes: config.bodyLimitBytes,
    maxInFlightRequests: config.maxInFlightRequests,
    callback: {
      sdkAppIds: config.sdkAppIds,
      callbackToken: config.callbackToken,
      store,
      nowMs: Date.now,
      onRateLimitAlert: alertSignal(redis, config.queuePrefix, config.enqueueTimeoutMs, log),
    },
    readiness,
    log,
  });

  const server = await new Promise<Server>((resolve, reject) => {
    const listening = app.listen(config.port, () => resolve(listening));
    listening.once("error", reject);
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  log.info({ port, path: config.callbackPath }, "ingest listening");

  const stepMs = config.shutdownTimeoutMs;
  const shutdown = createShutdown(
    [
      { name: "stop accepting callbacks", timeoutMs: stepMs, run: () => closeServer(server) },
      { name: "flush accepted callbacks to Redis", timeoutMs: stepMs, run: () => producer.drain() },
      {
        name: "close the spool",
        timeoutMs: stepMs,
        run: async () => {
          clearInterval(redriveTimer);
          await spool.close();
        },
      },
      { name: "close queue", timeoutMs: stepMs, run: () => queue.close() },
      { name: "close redis", timeoutMs: stepMs, run: async () => void (await redis.quit()) },
    ],
    log,
  );
  return { server, port, producer, spool, log, shutdown };
}

async function pingWithin(redis: ReturnType<typeof createRedis>, timeoutMs: number): Promise<boolean> {
  try {
    return (await withTimeout(redis.ping(), timeoutMs, "no PONG")) === "PONG";
  } catch {
    return false; // an unreachable or silent Redis is the answer /readyz exists to give
  }
}

/** Stops new connections and waits for in-flight requests; idle keep-alive sockets are closed. */
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeIdleConnections();
  });
}
