import type { Logger } from "@receipt-sync/runtime";
import type { RedisClient } from "@receipt-sync/queue";
import { AlertWatch } from "./alert-watch.js";
import { CallBudget, realClock } from "./call-budget.js";
import type { ReconcilerConfig } from "./load-config.js";
import type { ReconcilerMetrics } from "./reconciler-metrics.js";
import { TencentClient } from "./tencent-client.js";
import { UserSigCache } from "./user-sig-cache.js";

/** Everything one app's passes share: its REST client, UserSig, call budget and alert watch. */
export type AppSession = {
  sdkAppId: string;
  client: TencentClient;
  budget: CallBudget;
  userSig: UserSigCache;
  alerts: AlertWatch;
};

/**
 * One budget per app: Tencent's limits are per app (and per API), and every API of the app
 * draws on the same budget, so no single API can ever exceed it.
 */
export function createAppSession(
  config: ReconcilerConfig,
  app: { sdkAppId: string; secretKey: string },
  deps: { redis: RedisClient; log: Logger; metrics?: ReconcilerMetrics; alertPollMs?: number },
): AppSession {
  const budget = new CallBudget(config.callsPerSecond);
  const userSig = new UserSigCache({
    sdkAppId: app.sdkAppId,
    secretKey: app.secretKey,
    identifier: config.adminIdentifier,
    nowMs: Date.now,
  });
  const client = new TencentClient({
    baseUrl: config.apiBaseUrl,
    sdkAppId: app.sdkAppId,
    identifier: config.adminIdentifier,
    userSig,
    budget,
    timeoutMs: config.timeoutMs,
    maxAttempts: config.maxAttempts,
    retryBaseMs: config.retryBaseMs,
    clock: realClock,
    nowMs: Date.now,
    onAttempt: (api, code) => {
      deps.metrics?.recordAttempt(api, code);
      if (code === 60007 || code === 60011 || code === 60018 || code === 60019)
        deps.metrics?.setCallRate(app.sdkAppId, budget.currentRate);
    },
  });
  const alerts = new AlertWatch({
    redis: deps.redis,
    prefix: config.queuePrefix,
    sdkAppId: app.sdkAppId,
    budget,
    log: deps.log,
    pollMs: deps.alertPollMs,
    onChange: () => deps.metrics?.setCallRate(app.sdkAppId, budget.currentRate),
  });
  deps.metrics?.setCallRate(app.sdkAppId, budget.currentRate);
  return { sdkAppId: app.sdkAppId, client, budget, userSig, alerts };
}
