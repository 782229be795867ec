import type { RedisClient } from "@receipt-sync/queue";
import { TimeoutError, withTimeout, type Logger } from "@receipt-sync/runtime";

export type BreakerState = "open" | "closed";

type RedisBreakerOptions = {
  /** The producer's connection: the one the adds go through. */
  redis: RedisClient;
  /** While open, a PING is tried this often (one at a time). */
  probeIntervalMs: number;
  /** A PING not answered within this fails the probe. */
  probeTimeoutMs: number;
  /** While closed, a PING this often, so /readyz and the metrics notice a Redis that went quiet. */
  heartbeatMs: number;
  /** Called each time the breaker closes (Redis answers again). */
  onClose: () => void;
  log: Logger;
};

/**
 * Whether callbacks should wait on Redis at all. Tencent gives us 2 s and does not retry, so
 * once an add was refused or timed out, every callback goes straight to the spool instead of
 * queueing behind a Redis that is not answering; a PING every `probeIntervalMs` decides when
 * to try Redis again. It starts open: a Redis never reached since start is treated as down.
 *
 * After a timeout the connection is dropped and made anew: a command written to a hung socket
 * stays in ioredis' reply queue, payload and all, until Redis answers or the socket closes.
 * With maxRetriesPerRequest 0 (the queue package's create-redis.ts) closing it rejects and frees them, and the new
 * connection is not "ready" (so probes fail at once, adding nothing) until Redis answers.
 */
export class RedisBreaker {
  private open = true;
  private openedAtMs = Date.now();
  private lastProbeMs = 0;
  private probing = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: RedisBreakerOptions) {
    options.redis.on("close", () => this.trip(new Error("connection to Redis closed")));
  }

  get isOpen(): boolean {
    return this.open;
  }

  get state(): BreakerState {
    return this.open ? "open" : "closed";
  }

  /** Probes at once, waiting at most `timeoutMs` for a first connection, then keeps probing. */
  async start(timeoutMs: number): Promise<void> {
    await this.connected(timeoutMs, { orFirstError: true }); // a refused Redis does not hold up the start
    if (!(await this.probe()))
      this.options.log.warn("Redis does not answer at start: spooling callbacks until it does");
    this.timer = setInterval(() => void this.tick(), this.options.probeIntervalMs);
    this.timer.unref();
  }

  /** An add or a probe failed: stop sending callbacks to Redis until a probe succeeds. */
  trip(error: unknown): void {
    if (error instanceof TimeoutError || (error instanceof Error && error.message === "Command timed out"))
      this.resetConnection();
    if (this.open || this.stopped) return;
    this.open = true;
    this.openedAtMs = Date.now();
    this.options.log.warn(
      { err: error instanceof Error ? error.message : String(error) },
      "Redis refused or timed out: spooling callbacks until it answers",
    );
  }

  /**
   * Whether Redis answers a PING; closes the breaker if so. `connectWithinMs` waits that long
   * for a connection first (a last re-drive at shutdown gives a returning Redis that chance).
   */
  async probe(connectWithinMs = 0): Promise<boolean> {
    if (connectWithinMs > 0) await this.connected(connectWithinMs, { orFirstError: false });
    const answer = await this.ping();
    if (answer === "pong" && this.open && !this.stopped) {
      this.open = false;
      this.options.log.info({ openForMs: Date.now() - this.openedAtMs }, "Redis answers: callbacks go to the queue");
      this.options.onClose();
    } else if (answer !== "pong")
      this.trip(answer === "timeout" ? new TimeoutError("PING timed out") : new Error("Redis is not connected"));
    return answer === "pong";
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  private async tick(): Promise<void> {
    const dueMs = this.open ? 0 : this.options.heartbeatMs;
    if (this.probing || Date.now() - this.lastProbeMs < dueMs) return;
    this.probing = true;
    try {
      await this.probe();
    } finally {
      this.lastProbeMs = Date.now();
      this.probing = false;
    }
  }

  private async ping(): Promise<"pong" | "refused" | "timeout"> {
    const { redis } = this.options;
    if (redis.status !== "ready") return "refused"; // not connected, or connected and not yet answering
    try {
      return (await withTimeout(redis.ping(), this.options.probeTimeoutMs, "PING timed out")) === "PONG"
        ? "pong"
        : "refused";
    } catch (error) {
      return error instanceof TimeoutError ? "timeout" : "refused";
    }
  }

  private resetConnection(): void {
    if (this.stopped || this.options.redis.status !== "ready") return;
    this.options.redis.disconnect(true);
  }

  /** Resolves once connected, or after `timeoutMs`, or (if asked) at the first connection error. */
  private connected(timeoutMs: number, { orFirstError }: { orFirstError: boolean }): Promise<void> {
    const { redis } = this.options;
    if (redis.status === "ready") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        redis.off("ready", done).off("error", done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      redis.once("ready", done);
      if (orFirstError) redis.once("error", done);
    });
  }
}
