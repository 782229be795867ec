import { parseRequestOverLimit, type CallbackQuery, type RequestOverLimit } from "@receipt-sync/protocol";
import { raiseRateLimitAlert, type RedisClient } from "@receipt-sync/queue";
import type { Logger } from "@receipt-sync/runtime";
import type { CallbackDeps } from "./handle-callback.js";
import type { CallbackOutcome } from "./reply.js";

/**
 * `Alert.RequestOverLimit`: one of the app's REST APIs passed 80 % of its rate limit. The
 * reconciler makes REST calls and must slow down, so the alert is passed on through Redis. It
 * is answered OK whatever happens: it is an after-the-fact notice, nothing waits on our reply.
 */
export async function handleRateLimitAlert(
  query: CallbackQuery,
  body: unknown,
  deps: CallbackDeps,
): Promise<CallbackOutcome> {
  if (!deps.onRateLimitAlert) return { kind: "alert", passedOn: false };
  try {
    await deps.onRateLimitAlert(query.sdkAppId, parseRequestOverLimit(body));
    return { kind: "alert", passedOn: true };
  } catch {
    // Logged by the signal itself; the next alert (Tencent repeats them) may get through.
    return { kind: "alert", passedOn: false };
  }
}

/** Passes an alert on to the reconciler: a key with a lifetime under the queue prefix. */
export function alertSignal(
  redis: RedisClient,
  queuePrefix: string,
  timeoutMs: number,
  log: Logger,
): NonNullable<CallbackDeps["onRateLimitAlert"]> {
  return async (sdkAppId: string, alert: RequestOverLimit) => {
    const detail = `${alert.Command ?? "unknown API"}: ${alert.Request ?? "?"} calls/s, limit ${alert.Limit ?? "?"}`;
    log.warn(
      { sdkAppId, service: alert.ServiceName, command: alert.Command, request: alert.Request, limit: alert.Limit },
      "Tencent reports a REST API over its rate limit; telling the reconciler to slow down",
    );
    try {
      await raiseRateLimitAlert(redis, queuePrefix, sdkAppId, detail, timeoutMs);
    } catch (error) {
      log.warn({ err: (error as Error).message }, "could not pass the over-limit alert on to the reconciler");
      throw error;
    }
  };
}
