import type { Skip } from "@receipt-sync/db";
import type { RestApi } from "@receipt-sync/protocol";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { DifferenceRow, PassEvents } from "./pass-types.js";
import type { PassReport } from "./run-pass.js";
import type { AttemptCode } from "./tencent-client.js";

export type ReconcilerMetrics = ReturnType<typeof createReconcilerMetrics>;

/**
 * The reconciler's Prometheus metrics, in a registry of its own. Labels are bounded: apps come
 * from the configuration, APIs are four, and codes are Tencent's documented set plus a few of
 * our own (timeout, network, http_4xx, http_5xx, bad_reply).
 */
export function createReconcilerMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const checked = new Counter({
    name: "receipt_sync_reconcile_messages_checked_total",
    help: "Messages with a read receipt whose counts were compared with Tencent's.",
    labelNames: ["sdk_app_id"] as const,
    registers: [registry],
  });
  const differences = new Counter({
    name: "receipt_sync_reconcile_differences_total",
    help: "Messages where our copy differed from Tencent's, by what differed (missing, read_num, unread_num, readers).",
    labelNames: ["sdk_app_id", "difference"] as const,
    registers: [registry],
  });
  const repairs = new Counter({
    name: "receipt_sync_reconcile_repairs_total",
    help: "Messages repaired from Tencent's REST API (each has a row in reconcile_repairs).",
    labelNames: ["sdk_app_id"] as const,
    registers: [registry],
  });
  const skips = new Counter({
    name: "receipt_sync_reconcile_skips_total",
    help: "Groups or messages given up on (group gone, invalid parameter), by API and code.",
    labelNames: ["sdk_app_id", "api", "code"] as const,
    registers: [registry],
  });
  const calls = new Counter({
    name: "receipt_sync_reconcile_api_calls_total",
    help: "REST calls made to Tencent, every try counted, by API.",
    labelNames: ["api"] as const,
    registers: [registry],
  });
  const apiErrors = new Counter({
    name: "receipt_sync_reconcile_api_errors_total",
    help: "REST calls that failed, by API and ErrorCode (or timeout, network, http_4xx, http_5xx, bad_reply).",
    labelNames: ["api", "code"] as const,
    registers: [registry],
  });
  const passes = new Counter({
    name: "receipt_sync_reconcile_passes_total",
    help: "Passes finished: completed, stopped (configuration error or an API that kept refusing) or failed.",
    labelNames: ["sdk_app_id", "result"] as const,
    registers: [registry],
  });
  const passSeconds = new Histogram({
    name: "receipt_sync_reconcile_pass_duration_seconds",
    help: "Time one pass over one app took.",
    labelNames: ["sdk_app_id"] as const,
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
    registers: [registry],
  });
  const lastCompleted = new Gauge({
    name: "receipt_sync_reconcile_last_completed_timestamp_seconds",
    help: "When the last completed pass over the app ended (Unix seconds).",
    labelNames: ["sdk_app_id"] as const,
    registers: [registry],
  });
  const callRate = new Gauge({
    name: "receipt_sync_reconcile_call_rate",
    help: "REST calls per second allowed right now (below the budget while backing off).",
    labelNames: ["sdk_app_id"] as const,
    registers: [registry],
  });

  return {
    registry,
    passEvents(sdkAppId: string): PassEvents {
      return {
        checked: (n) => checked.inc({ sdk_app_id: sdkAppId }, n),
        differences: (rows: readonly DifferenceRow[]) => {
          for (const row of rows)
            for (const difference of row.differences) differences.inc({ sdk_app_id: sdkAppId, difference });
        },
        repaired: (n) => repairs.inc({ sdk_app_id: sdkAppId }, n),
        skipped: (list: readonly Skip[]) => {
          for (const s of list) skips.inc({ sdk_app_id: sdkAppId, api: s.api, code: String(s.errorCode) });
        },
      };
    },
    recordAttempt(api: RestApi, code: AttemptCode) {
      calls.inc({ api });
      if (code !== 0) apiErrors.inc({ api, code: String(code) });
    },
    recordPass(report: PassReport | undefined, sdkAppId: string, seconds: number) {
      const result = !report ? "failed" : report.stopped ? "stopped" : "completed";
      passes.inc({ sdk_app_id: sdkAppId, result });
      passSeconds.observe({ sdk_app_id: sdkAppId }, seconds);
      if (result === "completed") lastCompleted.set({ sdk_app_id: sdkAppId }, Date.now() / 1000);
    },
    setCallRate(sdkAppId: string, rate: number) {
      callRate.set({ sdk_app_id: sdkAppId }, rate);
    },
  };
}
