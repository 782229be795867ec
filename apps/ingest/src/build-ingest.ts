import { Queue } from "bullmq";
import { RECEIPT_QUEUE_NAME, ReceiptProducer, createRedis, type ReceiptJobData } from "@receipt-sync/queue";
import { createLogger, createShutdown, type Logger } from "@receipt-sync/runtime";
import type { Server } from "node:http";
import type { IngestConfig } from "./config.js";
import { createApp } from "./create-app.js";

export type Ingest = {
  server: Server;
  port: number;
  producer: ReceiptProducer;
  log: Logger;
  /** Stops HTTP, waits for accepted callbacks to reach Redis, closes the queue; true when clean. */
  shutdown: () => Promise<boolean>;
};

const READY_PING_TIMEOUT_MS = 500;

/** Builds every dependency from the config and starts listening. Tests and main use this alike. */
export async function startIngest(config: IngestConfig, log = createLogger({ name: "ingest", level: config.logLevel })): Promise<Ingest> {
  const redis = createRedis(config.redisUrl, "producer");
  redis.on("error", (error) => log.warn({ err: error.message }, "redis connection error"));
  const queue = new Queue<ReceiptJobData>(RECEIPT_QUEUE_NAME, { connection: redis, prefix: config.queuePrefix });
  queue.on("error", (error) => log.warn({ err: error.message }, "queue error"));
  const producer = new ReceiptProducer({ queue, addTimeoutMs: config.enqueueTimeoutMs });

  const app = createApp({
    callbackPath: config.callbackPath,
    bodyLimitBytes: config.bodyLimitBytes,
    callback: {
      sdkAppIds: config.sdkAppIds,
      callbackToken: config.callbackToken,
      enqueue: (packet) => producer.enqueue(packet),
      nowMs: Date.now,
    },
    isQueueReady: () => pingWithin(redis, READY_PING_TIMEOUT_MS),
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
      { name: "close queue", timeoutMs: stepMs, run: () => queue.close() },
      { name: "close redis", timeoutMs: stepMs, run: async () => void (await redis.quit()) },
    ],
    log,
  );
  return { server, port, producer, log, shutdown };
}

async function pingWithin(redis: ReturnType<typeof createRedis>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([redis.ping().then((reply) => reply === "PONG"), timeout]);
  } catch {
    return false; // an unreachable Redis is the answer /readyz exists to give
  } finally {
    clearTimeout(timer);
  }
}

/** Stops new connections and waits for in-flight requests; idle keep-alive sockets are closed. */
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeIdleConnections();
  });
}
