import { Redis } from "ioredis";

export type RedisRole = "producer" | "worker";

/**
 * A producer must never make a callback wait on a Redis that is not answering (Tencent gives
 * up on us after 2 s), nor keep what it gave up on:
 * - `enableOfflineQueue: false`: a command issued while disconnected fails at once instead of
 *   waiting, silently, for a reconnect;
 * - `commandTimeout`: a command Redis has not answered fails after `commandTimeoutMs`;
 * - `maxRetriesPerRequest: 0` and `autoResendUnfulfilledCommands: false`: when the connection
 *   closes, commands still awaiting a reply are rejected and dropped, not sent again (payloads
 *   and all) on the next connection;
 * - reconnect attempts at most 500 ms apart, so a Redis that is back is noticed within about
 *   half a second (each attempt costs one refused TCP connect).
 * A BullMQ worker, by contrast, must wait forever (`maxRetriesPerRequest: null` is required for
 * its blocking commands).
 */
export function createRedis(url: string, role: RedisRole, commandTimeoutMs = 1000): Redis {
  if (role === "producer") {
    return new Redis(url, {
      enableOfflineQueue: false,
      commandTimeout: commandTimeoutMs,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      retryStrategy: (attempt) => Math.min(attempt * 50, 500),
      connectTimeout: 2000,
    });
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
