import { Cluster, Redis, type ClusterOptions, type RedisOptions } from "ioredis";
import { parseRedisUrl } from "./redis-url.js";

export type RedisRole = "producer" | "worker";

/** One Redis or a cluster client; BullMQ, Bull Board and our own commands take either. */
export type RedisClient = Redis | Cluster;

/**
 * A producer must fail fast: with ioredis' offline queue a command issued while Redis is
 * away waits silently, and Tencent gives up on us after 2 s. A BullMQ worker, by contrast,
 * must wait forever (`maxRetriesPerRequest: null` is required for its blocking commands).
 */
const NODE_OPTIONS: Record<RedisRole, RedisOptions> = {
  producer: { maxRetriesPerRequest: 1, connectTimeout: 2000 },
  worker: { maxRetriesPerRequest: null },
};

/**
 * The one place a Redis client is made (apps, CLIs, Bull Board, tests): a cluster client
 * when `url` is a redis-cluster:// URL (see redis-url.ts), a plain one otherwise.
 */
export function createRedis(url: string, role: RedisRole): RedisClient {
  const parsed = parseRedisUrl(url);
  if (!parsed.ok) throw new Error(`REDIS_URL ${parsed.error}`); // configs check this first
  const { target } = parsed;
  const failFast = role === "producer";
  if (target.mode === "standalone") return new Redis(target.url, { ...NODE_OPTIONS[role], enableOfflineQueue: !failFast });

  const options: ClusterOptions = {
    // The cluster-level queue is the one that waits while no node answers; the per-node queues
    // must stay on (ioredis connects each node lazily and needs them for its first command).
    enableOfflineQueue: !failFast,
    redisOptions: {
      ...NODE_OPTIONS[role],
      username: target.username,
      password: target.password,
      ...(target.tls ? { tls: {} } : {}),
    },
    // Managed services with TLS hand out node names the certificate is issued for: resolving
    // them to addresses first would fail the certificate check.
    ...(target.tls ? { dnsLookup: (address: string, callback: (error: null, address: string) => void) => callback(null, address) } : {}),
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
