import { randomInt } from "node:crypto";
import { REST_APIS, classifyRestError, restEnvelopeSchema, type RestApi } from "@receipt-sync/protocol";
import type { z } from "zod";
import type { CallBudget, Clock } from "./call-budget.js";
import type { UserSigCache } from "./user-sig-cache.js";

/**
 * How a call ended. Failures are values: `configuration` stops the pass (retrying cannot help);
 * `group_gone` and `skip` are recorded and the pass goes on; `gave_up` means the tries for a
 * rate-limit or timeout code were spent, and the pass stops too: going on would only press an
 * API that is already refusing. The next pass starts afresh.
 */
export type CallResult<T> =
  | { ok: true; value: T; sentAtMs: number }
  | { ok: false; kind: "configuration" | "group_gone" | "skip" | "gave_up"; api: RestApi; code: number; info: string };

/** What one attempt came back with: Tencent's ErrorCode, or what stood in for one. */
export type AttemptCode = number | "http_4xx" | "http_5xx" | "timeout" | "network" | "bad_reply";

type TencentClientDeps = {
  baseUrl: string;
  sdkAppId: string;
  identifier: string;
  userSig: UserSigCache;
  budget: CallBudget;
  timeoutMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  clock: Clock;
  /** Wall-clock time, for dating what a call fetched. */
  nowMs: () => number;
  /** Every attempt's outcome, 0 for success: for metrics. */
  onAttempt?: (api: RestApi, code: AttemptCode) => void;
};

// Codes we make up for failures with no ErrorCode, so they are retried like Tencent's own.
const TRANSIENT = new Set<AttemptCode>(["http_5xx", "timeout", "network"]);
const MAX_BACKOFF_MS = 30_000;

/** One app's admin REST client: budget, UserSig, deadline, retries and back-off in one place. */
export class TencentClient {
  /** Tries sent so far, by API. */
  readonly attempts: Partial<Record<RestApi, number>> = {};

  constructor(private readonly deps: TencentClientDeps) {}

  async call<S extends z.ZodType>(
    api: RestApi,
    body: object,
    schema: S,
    signal?: AbortSignal,
  ): Promise<CallResult<z.output<S>>> {
    const { deps } = this;
    let resigned = false;
    let last: { code: number; info: string } = { code: 0, info: "" };
    for (let attempt = 0; attempt < deps.maxAttempts;) {
      await deps.budget.take(signal);
      const sentAtMs = deps.nowMs();
      const reply = await this.send(api, body, signal);
      this.attempts[api] = (this.attempts[api] ?? 0) + 1;
      deps.onAttempt?.(api, reply.code);
      if (reply.code === 0) {
        const parsed = schema.safeParse(reply.body);
        if (parsed.success) return { ok: true, value: parsed.data, sentAtMs };
        deps.onAttempt?.(api, "bad_reply");
        return {
          ok: false,
          kind: "skip",
          api,
          code: -1,
          info: `reply does not match the documented shape: ${parsed.error.issues[0]?.message ?? ""}`,
        };
      }
      const code = typeof reply.code === "number" ? reply.code : -1;
      last = { code, info: reply.info };
      const kind = TRANSIENT.has(reply.code)
        ? "unavailable"
        : reply.code === "http_4xx"
          ? "configuration"
          : classifyRestError(code);
      if (kind === "sig_expired") {
        // Once: a fresh UserSig that is refused again means a clock or key problem, not age.
        if (resigned)
          return {
            ok: false,
            kind: "configuration",
            api,
            code,
            info: `${reply.info} (again after making a new UserSig: check the clock)`,
          };
        resigned = true;
        deps.userSig.renew();
        continue;
      }
      if (kind === "configuration" || kind === "group_gone" || kind === "skip")
        return { ok: false, kind, api, code, info: reply.info };
      if (kind === "rate_limited") deps.budget.penalize();
      attempt += 1;
      if (attempt < deps.maxAttempts) await deps.clock.sleep(this.backoffMs(attempt), signal);
    }
    return { ok: false, kind: "gave_up", api, code: last.code, info: `${last.info} (after ${deps.maxAttempts} tries)` };
  }

  /** Exponential with full jitter, so many clients backing off do not return in step. */
  private backoffMs(attempt: number): number {
    const ceiling = Math.min(MAX_BACKOFF_MS, this.deps.retryBaseMs * 2 ** (attempt - 1));
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  private async send(
    api: RestApi,
    body: object,
    signal?: AbortSignal,
  ): Promise<{ code: AttemptCode; info: string; body?: unknown }> {
    const { deps } = this;
    const query = new URLSearchParams({
      sdkappid: deps.sdkAppId,
      identifier: deps.identifier,
      usersig: deps.userSig.get(),
      random: String(randomInt(0, 2 ** 32)),
      contenttype: "json",
    });
    const deadline = AbortSignal.timeout(deps.timeoutMs);
    try {
      const res = await fetch(`${deps.baseUrl}/v4/${REST_APIS[api]}?${query}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: signal ? AbortSignal.any([signal, deadline]) : deadline,
      });
      const text = await res.text();
      // 429 is a rate limit whoever sends it; any other 4xx means a wrong host or path.
      if (res.status === 429) return { code: 60007, info: "HTTP 429" };
      if (res.status >= 400 && res.status < 500)
        return { code: "http_4xx", info: `HTTP ${res.status} from ${deps.baseUrl}: check TENCENT_API_HOST` };
      if (res.status !== 200) return { code: "http_5xx", info: `HTTP ${res.status}` };
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        return { code: "http_5xx", info: "reply is not JSON" };
      }
      const envelope = restEnvelopeSchema.safeParse(json);
      if (!envelope.success) return { code: "http_5xx", info: "reply has no Tencent envelope" };
      return { code: envelope.data.ErrorCode, info: envelope.data.ErrorInfo, body: json };
    } catch (error) {
      signal?.throwIfAborted();
      // Only the error's name and message: the request URL holds the UserSig.
      if (deadline.aborted) return { code: "timeout", info: `no answer within ${deps.timeoutMs} ms` };
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      return { code: "network", info: cause ?? (error instanceof Error ? error.name : "network error") };
    }
  }
}
