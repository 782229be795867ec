import { rateLimitAlertActive, type RedisClient } from "@receipt-sync/queue";
import type { Logger } from "@receipt-sync/runtime";
import type { CallBudget } from "./call-budget.js";

/** While Tencent's over-limit alert is in force for an app, its calls keep to this share of the budget. */
const ALERT_SHARE = 0.25;
const DEFAULT_POLL_MS = 5000;
const REDIS_TIMEOUT_MS = 1000;

/**
 * Watches the key the ingest sets on `Alert.RequestOverLimit` and slows one app's budget while
 * it exists. The alert can concern any API of the app, including the operator's own use of
 * Tencent's APIs that shares the app's limits, so the reconciler yields whichever it is.
 * An unreachable Redis means no news: the budget keeps its rate.
 */
export class AlertWatch {
  private timer: NodeJS.Timeout | undefined;
  private active = false;

  constructor(
    private readonly deps: {
      redis: RedisClient;
      prefix: string;
      sdkAppId: string;
      budget: CallBudget;
      log: Logger;
      pollMs?: number;
      onChange?: () => void;
    },
  ) {}

  /** Checks now, then every few seconds until stop(). */
  async start(): Promise<void> {
    await this.check();
    this.timer = setInterval(() => void this.check(), this.deps.pollMs ?? DEFAULT_POLL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async check(): Promise<void> {
    const { redis, prefix, sdkAppId, budget, log } = this.deps;
    let active: boolean;
    try {
      active = await rateLimitAlertActive(redis, prefix, sdkAppId, REDIS_TIMEOUT_MS);
    } catch (error) {
      log.debug({ err: (error as Error).message }, "cannot read the over-limit alert; keeping the current rate");
      return;
    }
    if (active === this.active) return;
    this.active = active;
    budget.setExternalFactor(active ? ALERT_SHARE : 1);
    log.warn(
      { sdkAppId, callsPerSecond: budget.currentRate },
      active
        ? "Tencent reports an API over its rate limit: slowing down"
        : "over-limit alert over: back to the full budget",
    );
    this.deps.onChange?.();
  }
}
