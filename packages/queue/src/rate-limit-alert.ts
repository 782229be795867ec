import { withTimeout } from "@receipt-sync/runtime";
import type { RedisClient } from "./create-redis.js";

/**
 * Tencent's `Alert.RequestOverLimit` callback reaches the ingest; the reconciler, which makes
 * the REST calls, must hear of it. The ingest sets this key (under the queue's prefix, so
 * deployments sharing a Redis keep apart) and the reconciler slows down while it exists.
 * Every alert renews the key's lifetime: the slow-down ends a while after the last alert.
 */
const RATE_LIMIT_ALERT_TTL_MS = 5 * 60_000;

export function rateLimitAlertKey(prefix: string, sdkAppId: string): string {
  return `${prefix}:tencent:request-over-limit:${sdkAppId}`;
}

/** Marks `sdkAppId` as over Tencent's limit; `detail` says which API (for operators reading Redis). */
export async function raiseRateLimitAlert(
  redis: RedisClient,
  prefix: string,
  sdkAppId: string,
  detail: string,
  timeoutMs: number,
): Promise<void> {
  await withTimeout(
    redis.set(rateLimitAlertKey(prefix, sdkAppId), detail, "PX", RATE_LIMIT_ALERT_TTL_MS),
    timeoutMs,
    `Redis did not take the alert within ${timeoutMs} ms`,
  );
}

/** Whether an alert for `sdkAppId` is in force. */
export async function rateLimitAlertActive(
  redis: RedisClient,
  prefix: string,
  sdkAppId: string,
  timeoutMs: number,
): Promise<boolean> {
  return (
    (await withTimeout(
      redis.exists(rateLimitAlertKey(prefix, sdkAppId)),
      timeoutMs,
      `Redis did not answer within ${timeoutMs} ms`,
    )) === 1
  );
}
