export type Clock = { nowMs: () => number; sleep: (ms: number, signal?: AbortSignal) => Promise<void> };

export const realClock: Clock = {
  nowMs: () => performance.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal!.reason);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      signal?.addEventListener("abort", onAbort, { once: true });
    }),
};

/** Spacing kept above 1/rate: a call delayed on the wire cannot push any one second over budget. */
const HEADROOM = 1.1;
/** A rate-limit answer halves the rate, down to this share of the budget ... */
const MIN_FACTOR = 1 / 16;
/** ... and the full rate returns after this long without another. */
const RECOVER_AFTER_MS = 60_000;

/**
 * The one budget every REST call of a reconciler takes a turn from, whatever the API: calls are
 * spaced evenly, never in bursts, so no API (and not all of them together) sees more than
 * `callsPerSecond` calls within any second, measured from when each call was let through.
 *
 * The rate drops when Tencent says so: `penalize()` on a rate-limit code halves it, and
 * `setExternalFactor()` holds it lower while an `Alert.RequestOverLimit` is in force.
 */
export class CallBudget {
  private lastCallMs = Number.NEGATIVE_INFINITY;
  private queue: Promise<void> = Promise.resolve();
  private penaltyFactor = 1;
  private penalizedAtMs = Number.NEGATIVE_INFINITY;
  private externalFactor = 1;

  constructor(
    private readonly callsPerSecond: number,
    private readonly clock: Clock = realClock,
  ) {}

  /** Resolves when the caller may send one call; turns are taken in order of asking. */
  take(signal?: AbortSignal): Promise<void> {
    const turn = this.queue.then(() => this.waitForSlot(signal));
    // A caller that gave up (aborted) must not hold up the ones behind it.
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /** Tencent answered "too frequent": halve the rate for a while. */
  penalize(): void {
    this.penaltyFactor = Math.max(MIN_FACTOR, this.penaltyFactor / 2);
    this.penalizedAtMs = this.clock.nowMs();
  }

  /** A share (0 < f ≤ 1) of the budget to keep to, e.g. while Tencent's over-limit alert is in force. */
  setExternalFactor(factor: number): void {
    this.externalFactor = Math.min(1, Math.max(MIN_FACTOR, factor));
  }

  /** Calls per second allowed right now. */
  get currentRate(): number {
    if (this.penaltyFactor < 1 && this.clock.nowMs() - this.penalizedAtMs >= RECOVER_AFTER_MS) this.penaltyFactor = 1;
    return this.callsPerSecond * Math.min(this.penaltyFactor, this.externalFactor);
  }

  private async waitForSlot(signal?: AbortSignal): Promise<void> {
    const intervalMs = (1000 * HEADROOM) / this.currentRate;
    const waitMs = this.lastCallMs + intervalMs - this.clock.nowMs();
    if (waitMs > 0) await this.clock.sleep(waitMs, signal);
    signal?.throwIfAborted();
    // From when the call is actually let through: a timer that fired late does not let the
    // next call in early.
    this.lastCallMs = this.clock.nowMs();
  }
}
