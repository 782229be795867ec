import { envQueuePrefix, envRedisUrl, resolveQueuePrefix } from "@receipt-sync/queue";
import { sdkAppIdListSchema } from "@receipt-sync/protocol";
import { ConfigError, envList, envLogLevel, envPort, envPositiveInt, parseEnv } from "@receipt-sync/runtime";
import { z } from "zod";

const appIds = envList.pipe(sdkAppIdListSchema);

// `1400000000:key,1400000001:key`. A SecretKey is hex in the console; anything without a comma
// is accepted, and the text after the first colon is the key.
const secretKeys = envList
  .pipe(
    z
      .array(z.string().regex(/^[0-9]{1,18}:.+$/, "must be SDKAPPID:SECRETKEY pairs separated by commas"))
      .min(1, "must hold at least one SDKAPPID:SECRETKEY pair"),
  )
  .transform(
    (pairs) =>
      new Map(pairs.map((pair) => [pair.slice(0, pair.indexOf(":")), pair.slice(pair.indexOf(":") + 1)] as const)),
  );

// A bare host means HTTPS, as Tencent serves it; a full http(s):// URL is for a fake or a proxy.
const apiBase = z
  .string()
  .trim()
  .regex(
    /^(https?:\/\/[A-Za-z0-9.:[\]-]+(\/[A-Za-z0-9._~/-]*)?|[A-Za-z0-9.-]+(:[0-9]+)?)$/,
    "must be a host name such as adminapisgp.im.qcloud.com, or an http(s):// URL",
  )
  .default("console.tim.qq.com")
  .transform((v) => (/^https?:\/\//.test(v) ? v.replace(/\/+$/, "") : `https://${v}`));

export const envSchema = z.object({
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, "must be a postgresql:// URL"),
  SDKAPPID: appIds.optional(),
  TENCENT_SECRET_KEYS: secretKeys,
  TENCENT_API_HOST: apiBase,
  TENCENT_ADMIN_IDENTIFIER: z.string().trim().min(1).max(32).default("administrator"),
  TENCENT_CALLS_PER_SECOND: envPositiveInt(50).pipe(z.int().max(200, "must be at most 200 (Tencent's limit per API)")),
  TENCENT_TIMEOUT_MS: envPositiveInt(5000),
  TENCENT_MAX_ATTEMPTS: envPositiveInt(6),
  TENCENT_RETRY_BASE_MS: envPositiveInt(500),
  RECONCILE_INTERVAL_MS: envPositiveInt(15 * 60_000),
  RECONCILE_LOOKBACK_MS: envPositiveInt(24 * 3600_000),
  RECONCILE_RECEIPT_BATCH: envPositiveInt(20).pipe(z.int().max(100, "must be at most 100")),
  RECONCILE_GROUPS_IN_FLIGHT: envPositiveInt(4),
  REDIS_URL: envRedisUrl,
  QUEUE_PREFIX: envQueuePrefix,
  SHUTDOWN_TIMEOUT_MS: envPositiveInt(10_000),
  METRICS_PORT: envPort.optional(),
  LOG_LEVEL: envLogLevel,
});

export type ReconcilerConfig = {
  databaseUrl: string;
  /** The apps to reconcile, each with its SecretKey (never logged). */
  apps: { sdkAppId: string; secretKey: string }[];
  /** e.g. https://console.tim.qq.com, without a trailing slash. */
  apiBaseUrl: string;
  adminIdentifier: string;
  /** Calls per second across every API, well under Tencent's 200 per API. */
  callsPerSecond: number;
  /** Deadline of one REST call. */
  timeoutMs: number;
  /** Tries per call on rate-limit and timeout codes before the item is recorded and skipped. */
  maxAttempts: number;
  /** First back-off after a rate-limit or timeout code; it doubles per try. */
  retryBaseMs: number;
  intervalMs: number;
  lookbackMs: number;
  /** MsgSeqs per get_group_msg_receipt call. */
  receiptBatch: number;
  /** Groups checked at once (their calls still share the one budget). */
  groupsInFlight: number;
  redisUrl: string;
  queuePrefix: string;
  shutdownTimeoutMs: number;
  metricsPort: number | undefined;
  logLevel: string;
};

/** Reads the reconciler's settings; throws a ConfigError naming the variable and the fix. */
export function loadConfig(env: NodeJS.ProcessEnv): ReconcilerConfig {
  const parsed = parseEnv(envSchema, env, {
    DATABASE_URL: "e.g. postgresql://postgres@127.0.0.1:5432/receipts",
    TENCENT_SECRET_KEYS: "set it to SDKAPPID:SECRETKEY from the Chat console's app info, several separated by commas",
  });
  // Every app this deployment serves is reconciled; without SDKAPPID, every app with a key.
  const appIdsToReconcile = parsed.SDKAPPID ?? [...parsed.TENCENT_SECRET_KEYS.keys()];
  const apps = appIdsToReconcile.map((sdkAppId) => {
    const secretKey = parsed.TENCENT_SECRET_KEYS.get(sdkAppId);
    if (secretKey === undefined)
      throw new ConfigError(
        `config error: TENCENT_SECRET_KEYS has no key for SDKAppID ${sdkAppId} (add ${sdkAppId}:<SecretKey>, or remove it from SDKAPPID)`,
      );
    return { sdkAppId, secretKey };
  });
  return {
    databaseUrl: parsed.DATABASE_URL,
    apps,
    apiBaseUrl: parsed.TENCENT_API_HOST,
    adminIdentifier: parsed.TENCENT_ADMIN_IDENTIFIER,
    callsPerSecond: parsed.TENCENT_CALLS_PER_SECOND,
    timeoutMs: parsed.TENCENT_TIMEOUT_MS,
    maxAttempts: parsed.TENCENT_MAX_ATTEMPTS,
    retryBaseMs: parsed.TENCENT_RETRY_BASE_MS,
    intervalMs: parsed.RECONCILE_INTERVAL_MS,
    lookbackMs: parsed.RECONCILE_LOOKBACK_MS,
    receiptBatch: parsed.RECONCILE_RECEIPT_BATCH,
    groupsInFlight: parsed.RECONCILE_GROUPS_IN_FLIGHT,
    redisUrl: parsed.REDIS_URL,
    queuePrefix: resolveQueuePrefix(parsed.REDIS_URL, parsed.QUEUE_PREFIX),
    shutdownTimeoutMs: parsed.SHUTDOWN_TIMEOUT_MS,
    metricsPort: parsed.METRICS_PORT,
    logLevel: parsed.LOG_LEVEL,
  };
}
