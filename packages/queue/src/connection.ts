import { Redis } from "ioredis";

export type RedisRole = "producer" | "worker";

/**
 * A producer must fail fast: with ioredis' offline queue a command issued while Redis is
 * away waits silently, and Tencent gives up on us after 2 s. A BullMQ worker, by contrast,
 * must wait forever (`maxRetriesPerRequest: null` is required for its blocking commands).
 */
export function createRedis(url: string, role: RedisRole): Redis {
  if (role === "producer") {
    return new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000 });
  }
  return new Redis(url, { maxRetriesPerRequest: null });
}

/** Resolves once the connection is usable, or rejects after `timeoutMs`. */
export async function waitForRedis(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === "ready") return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.off("ready", onReady);
      reject(new Error(`Redis did not become ready within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    redis.once("ready", onReady);
  });
}
