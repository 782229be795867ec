import { Cluster, Redis, type ClusterOptions, type RedisOptions } from "ioredis";
import { parseRedisUrl } from "./redis-url.js";

type RedisRole = "producer" | "worker";

/** One Redis or a cluster client; BullMQ, Bull Board and our own commands take either. */
export type RedisClient = Redis | Cluster;

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
const producerOptions = (commandTimeoutMs: number): RedisOptions => ({
  commandTimeout: commandTimeoutMs,
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
  connectTimeout: 2000,
});
const reconnectDelayMs = (attempt: number) => Math.min(attempt * 50, 500);

/**
 * The one place a Redis client is made (apps, CLIs, Bull Board, tests): a cluster client
 * when `url` is a redis-cluster:// URL (see redis-url.ts), a plain one otherwise, with the
 * same producer or worker behaviour either way.
 */
export function createRedis(url: string, role: RedisRole, commandTimeoutMs = 1000): RedisClient {
  const parsed = parseRedisUrl(url);
  if (!parsed.ok) throw new Error(`REDIS_URL ${parsed.error}`); // configs check this first
  const { target } = parsed;
  const producer = role === "producer";
  const perConnection: RedisOptions = producer ? producerOptions(commandTimeoutMs) : { maxRetriesPerRequest: null };
  if (target.mode === "standalone") {
    return new Redis(
      target.url,
      producer ? { ...perConnection, enableOfflineQueue: false, retryStrategy: reconnectDelayMs } : perConnection,
    );
  }
  const options: ClusterOptions = {
    // On a cluster the offline queue and reconnects are the cluster client's: ioredis makes
    // each node's connection with its own queue on (it connects nodes lazily, on their first
    // command) and without a retry strategy, whatever redisOptions say.
    enableOfflineQueue: !producer,
    ...(producer ? { clusterRetryStrategy: reconnectDelayMs } : {}),
    redisOptions: {
      ...perConnection,
      username: target.username,
      password: target.password,
      ...(target.tls ? { tls: {} } : {}),
    },
    // Managed services with TLS hand out node names the certificate is issued for: resolving
    // them to addresses first would fail the certificate check.
    ...(target.tls
      ? { dnsLookup: (address: string, callback: (error: null, address: string) => void) => callback(null, address) }
      : {}),
  };
  return new Cluster(target.nodes, options);
}

/** Resolves once the connection is usable, or rejects after `timeoutMs`. */
export async function waitForRedis(redis: RedisClient, timeoutMs: number): Promise<void> {
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
