import { envQueuePrefix, envRedisUrl, resolveQueuePrefix } from "@receipt-sync/queue";
import { sdkAppIdListSchema } from "@receipt-sync/protocol";
import {
  ConfigError,
  envList,
  envLogLevel,
  envPort,
  envPositiveInt,
  fromInvocationDir,
  parseEnv,
} from "@receipt-sync/runtime";
import type { BlockList } from "node:net";
import { hostname } from "node:os";
import { z } from "zod";
import { parseSourceAllowlist } from "./source-allowlist.js";
import { INSTANCE_NAME } from "./spool-sweeper.js";

const INSTANCE_RULE =
  "must be letters, digits, '.', '_' and '-' (at most 128, starting with a letter or digit), unique among the ingests sharing SPOOL_DIR";

export const envSchema = z.object({
  SDKAPPID: envList.pipe(sdkAppIdListSchema),
  // No default: a secret that ships with a default is no secret.
  CALLBACK_TOKEN: z.string().optional(),
  PORT: envPositiveInt(3000).pipe(z.int().max(65535)),
  CALLBACK_PATH: z
    .string()
    .regex(/^\/[A-Za-z0-9/_.-]*$/, "must be a path starting with /")
    .default("/callback"),
  REDIS_URL: envRedisUrl,
  QUEUE_PREFIX: envQueuePrefix,
  BODY_LIMIT_BYTES: envPositiveInt(1024 * 1024),
  ENQUEUE_TIMEOUT_MS: envPositiveInt(500),
  SHUTDOWN_TIMEOUT_MS: envPositiveInt(10_000),
  SPOOL_DIR: z.string().default("spool"),
  // Unset: the hostname, which compose makes the container id, unique per replica.
  INGEST_INSTANCE: z.string().regex(INSTANCE_NAME, INSTANCE_RULE).optional(),
  SPOOL_MAX_BYTES: envPositiveInt(1024 ** 3),
  SPOOL_SEGMENT_BYTES: envPositiveInt(16 * 1024 ** 2),
  MAX_IN_FLIGHT_REQUESTS: envPositiveInt(5000),
  ADMIN_PORT: envPort.optional(),
  ADMIN_USER: z.string().optional(),
  ADMIN_PASSWORD: z.string().optional(),
  ALLOWED_SOURCE_CIDRS: z
    .string()
    .transform((text, ctx) => {
      const parsed = parseSourceAllowlist(text);
      if (!parsed.ok)
        ctx.addIssue({
          code: "custom",
          message: `${parsed.error}; list Tencent's callback egress ranges, comma-separated`,
        });
      return parsed.ok ? parsed.list : z.NEVER;
    })
    .optional(),
  TRUST_PROXY: z
    .string()
    .trim()
    .regex(/^[0-9]+$/, "must be a number of proxy hops (0 when callbacks reach the ingest directly)")
    .transform(Number)
    .pipe(z.int().max(10))
    .default(0),
  LOG_LEVEL: envLogLevel,
});

export type IngestConfig = {
  sdkAppIds: ReadonlySet<string>;
  callbackToken: string | undefined;
  port: number;
  callbackPath: string;
  redisUrl: string;
  queuePrefix: string;
  bodyLimitBytes: number;
  /**
   * An add Redis has not confirmed by then counts as a timeout: the breaker opens and the
   * callback is spooled. On the Redis path a callback waits at most about twice this (its turn,
   * then its add), which must stay well inside Tencent's 2 s.
   */
  enqueueTimeoutMs: number;
  shutdownTimeoutMs: number;
  /** The spool root: this ingest spools into `spoolDir/instance`, and adopts what others left there. */
  spoolDir: string;
  /** This ingest's name among those sharing `spoolDir`; a safe single path segment. */
  instance: string;
  spoolMaxBytes: number;
  /** Spool segments are closed at about this size; each is re-driven, streamed, as a whole. */
  spoolSegmentBytes: number;
  /** Requests being handled at once past which new ones get 503 instead of more memory. */
  maxInFlightRequests: number;
  /** The admin listener (/metrics, /readyz in detail, Bull Board); unset, there is none. */
  adminPort: number | undefined;
  /** Bull Board credentials; without them /admin/queues does not exist. */
  admin: { user: string; password: string } | undefined;
  /** Only callers from these addresses are served (403 otherwise); unset, any address is. */
  allowedSources: BlockList | undefined;
  /** Proxy hops in front whose X-Forwarded-For entry is believed; 0 judges the socket's address. */
  trustProxyHops: number;
  logLevel: string;
};

/** Reads the ingest's settings from the environment; throws a ConfigError naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv): IngestConfig {
  const parsed = parseEnv(envSchema, env, {
    SDKAPPID: "set it to your app's SDKAppID from the Chat console, several separated by commas",
  });
  if ((parsed.ADMIN_USER === undefined) !== (parsed.ADMIN_PASSWORD === undefined)) {
    const missing = parsed.ADMIN_USER === undefined ? "ADMIN_USER" : "ADMIN_PASSWORD";
    throw new ConfigError(
      `config error: ${missing} is required when ${missing === "ADMIN_USER" ? "ADMIN_PASSWORD" : "ADMIN_USER"} is set (both enable Bull Board at /admin/queues)`,
    );
  }
  if (parsed.ADMIN_USER !== undefined && parsed.ADMIN_PORT === undefined) {
    throw new ConfigError(
      "config error: ADMIN_PORT is required when ADMIN_USER and ADMIN_PASSWORD are set (Bull Board is served on the admin listener only)",
    );
  }
  if (parsed.ADMIN_PORT === parsed.PORT)
    throw new ConfigError(
      `config error: ADMIN_PORT must differ from PORT (${parsed.PORT}): the admin listener is never the webhook's`,
    );
  return {
    sdkAppIds: new Set(parsed.SDKAPPID),
    callbackToken: parsed.CALLBACK_TOKEN,
    port: parsed.PORT,
    callbackPath: parsed.CALLBACK_PATH,
    redisUrl: parsed.REDIS_URL,
    queuePrefix: resolveQueuePrefix(parsed.REDIS_URL, parsed.QUEUE_PREFIX),
    bodyLimitBytes: parsed.BODY_LIMIT_BYTES,
    enqueueTimeoutMs: parsed.ENQUEUE_TIMEOUT_MS,
    shutdownTimeoutMs: parsed.SHUTDOWN_TIMEOUT_MS,
    spoolDir: fromInvocationDir(parsed.SPOOL_DIR, env),
    instance: instanceName(parsed.INGEST_INSTANCE),
    spoolMaxBytes: parsed.SPOOL_MAX_BYTES,
    spoolSegmentBytes: parsed.SPOOL_SEGMENT_BYTES,
    maxInFlightRequests: parsed.MAX_IN_FLIGHT_REQUESTS,
    adminPort: parsed.ADMIN_PORT,
    admin:
      parsed.ADMIN_USER !== undefined && parsed.ADMIN_PASSWORD !== undefined
        ? { user: parsed.ADMIN_USER, password: parsed.ADMIN_PASSWORD }
        : undefined,
    allowedSources: parsed.ALLOWED_SOURCE_CIDRS,
    trustProxyHops: parsed.TRUST_PROXY,
    logLevel: parsed.LOG_LEVEL,
  };
}

function instanceName(configured: string | undefined): string {
  const name = configured ?? hostname();
  if (INSTANCE_NAME.test(name)) return name;
  throw new ConfigError(
    `config error: INGEST_INSTANCE is unset and the hostname ${JSON.stringify(name)} is not a valid one: set INGEST_INSTANCE: it ${INSTANCE_RULE}`,
  );
}
