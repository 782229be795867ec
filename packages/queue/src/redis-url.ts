import { ConfigError } from "@receipt-sync/runtime";
import { z } from "zod";

/**
 * Where the queue lives. `REDIS_URL` names either one Redis (`redis://`, `rediss://`, as ioredis
 * reads them) or a Redis Cluster: `redis-cluster://[user:password@]host:port,host:port[/]`, with
 * `rediss-cluster://` for TLS. The listed nodes are only seeds: the client learns the rest from
 * CLUSTER SLOTS, so a few masters (or the managed service's configuration endpoint) suffice.
 */
type RedisTarget =
  | { mode: "standalone"; url: string }
  | { mode: "cluster"; nodes: { host: string; port: number }[]; username?: string; password?: string; tls: boolean };

const CLUSTER_URL = /^(rediss?)-cluster:\/\/(?:([^@/]*)@)?([^/?#@]+)\/?$/;
const NODE = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$/;

export function parseRedisUrl(text: string): { ok: true; target: RedisTarget } | { ok: false; error: string } {
  if (/^rediss?:\/\//.test(text)) {
    return URL.canParse(text)
      ? { ok: true, target: { mode: "standalone", url: text } }
      : { ok: false, error: "is not a valid redis:// URL" };
  }
  const cluster = CLUSTER_URL.exec(text);
  if (!cluster) return { ok: false, error: "must be a redis://, rediss://, redis-cluster:// or rediss-cluster:// URL" };
  const [, scheme, credentials, hostList] = cluster;
  const nodes: { host: string; port: number }[] = [];
  for (const node of hostList!.split(",")) {
    const match = NODE.exec(node.trim());
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65535)
      return { ok: false, error: `lists "${node}" where a cluster node must be host:port` };
    nodes.push({ host: match[1]!.replace(/^\[|\]$/g, ""), port });
  }
  const target: RedisTarget = { mode: "cluster", nodes, tls: scheme === "rediss" };
  if (credentials !== undefined) {
    const colon = credentials.indexOf(":");
    const user = decodeURIComponent(colon < 0 ? credentials : credentials.slice(0, colon));
    if (user !== "") target.username = user;
    if (colon >= 0) target.password = decodeURIComponent(credentials.slice(colon + 1));
  }
  return { ok: true, target };
}

export function isClusterUrl(url: string): boolean {
  const parsed = parseRedisUrl(url);
  return parsed.ok && parsed.target.mode === "cluster";
}

const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";

/** `REDIS_URL` in every app's and CLI's config schema. */
export const envRedisUrl = z
  .string()
  .trim()
  .default(DEFAULT_REDIS_URL)
  .superRefine((value, ctx) => {
    const parsed = parseRedisUrl(value);
    if (!parsed.ok) ctx.addIssue({ code: "custom", message: parsed.error });
  });

/** `QUEUE_PREFIX` as given; resolveQueuePrefix supplies the default, which depends on REDIS_URL. */
export const envQueuePrefix = z
  .string()
  .regex(/^[A-Za-z0-9_.:{}-]+$/, "must be letters, digits or _.:{}-")
  .optional();

/** The prefix an existing plain-Redis deployment has always used; its keys stay where they are. */
const DEFAULT_QUEUE_PREFIX = "receipt-sync";
/** The default on a cluster: the same name, hash-tagged. */
const DEFAULT_CLUSTER_QUEUE_PREFIX = "{receipt-sync}";

/**
 * The hash tag Redis Cluster hashes a key by: the text between the first `{` and the next `}`,
 * if not empty. BullMQ's Lua scripts touch many keys of one queue at once, which a cluster only
 * allows within one slot, so on a cluster every key under the prefix must carry the same tag.
 */
export function hashTagOf(prefix: string): string | undefined {
  const open = prefix.indexOf("{");
  if (open < 0) return undefined;
  const close = prefix.indexOf("}", open + 1);
  return close > open + 1 ? prefix.slice(open + 1, close) : undefined;
}

/** The queue prefix for `redisUrl`: the given one (checked for a hash tag on a cluster) or the default. */
export function resolveQueuePrefix(redisUrl: string, given: string | undefined): string {
  const cluster = isClusterUrl(redisUrl);
  if (given === undefined) return cluster ? DEFAULT_CLUSTER_QUEUE_PREFIX : DEFAULT_QUEUE_PREFIX;
  if (cluster && hashTagOf(given) === undefined) {
    throw new ConfigError(
      `config error: QUEUE_PREFIX must contain a hash tag when REDIS_URL names a cluster (e.g. {${given.replace(/[{}]/g, "")}}), so that the queue's keys share one slot`,
    );
  }
  return given;
}
