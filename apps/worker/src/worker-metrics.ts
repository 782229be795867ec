import type { WirePacket } from "@receipt-sync/protocol";
import type { Queue } from "bullmq";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

const QUEUE_STATES = ["waiting", "active", "delayed", "failed"] as const;

/** The worker's Prometheus metrics, in a registry of its own. */
export function createWorkerMetrics(queue: Queue) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const jobs = new Counter({
    name: "receipt_sync_jobs_total",
    help: "Jobs finished by this worker: completed, retried (will run again) or failed (in the failed set).",
    labelNames: ["result"] as const,
    registers: [registry],
  });
  const batchPackets = new Histogram({
    name: "receipt_sync_batch_packets",
    help: "Callbacks written per database transaction.",
    buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000],
    registers: [registry],
  });
  const writeSeconds = new Histogram({
    name: "receipt_sync_db_write_duration_seconds",
    help: "Time to write one batch (one transaction), by result.",
    labelNames: ["result"] as const,
    // Fine below 50 ms, where a healthy write lives, so a p99 that doubles is visible.
    buckets: [0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const lagSeconds = new Histogram({
    name: "receipt_sync_end_to_end_lag_seconds",
    help: "Now minus the callback's EventTime when its batch was written: how far the copy trails Tencent.",
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600],
    registers: [registry],
  });
  const quarantined = new Counter({
    name: "receipt_sync_quarantined_total",
    help: "Callbacks kept in quarantined_callbacks instead of the tables, by reason (invalid_payload, rejected_by_database).",
    labelNames: ["reason"] as const,
    registers: [registry],
  });
  const prunedRows = new Counter({
    name: "receipt_sync_pruned_rows_total",
    help: "Rows deleted by retention (RETENTION_DAYS), by table.",
    labelNames: ["table"] as const,
    registers: [registry],
  });
  const pruneCompleted = new Gauge({
    name: "receipt_sync_prune_last_completed_timestamp_seconds",
    help: "When this worker last finished a prune run that reached the cutoff.",
    registers: [registry],
  });
  new Gauge({
    name: "receipt_sync_queue_jobs",
    help: "Jobs in the queue by state.",
    labelNames: ["state"] as const,
    registers: [registry],
    async collect() {
      const counts = await queue.getJobCounts(...QUEUE_STATES);
      for (const state of QUEUE_STATES) this.set({ state }, counts[state] ?? 0);
    },
  });
  return {
    registry,
    recordJob(result: "completed" | "retried" | "failed") {
      jobs.inc({ result });
    },
    recordPruned(deleted: Partial<Record<string, number>>) {
      for (const [table, count] of Object.entries(deleted)) if (count) prunedRows.inc({ table }, count);
    },
    recordPruneCompleted() {
      pruneCompleted.setToCurrentTime();
    },
    recordQuarantined(entries: readonly { reason: string }[]) {
      for (const entry of entries) quarantined.inc({ reason: entry.reason });
    },
    recordWrite(packets: readonly WirePacket[], seconds: number, ok: boolean) {
      writeSeconds.observe({ result: ok ? "ok" : "error" }, seconds);
      if (!ok) return;
      batchPackets.observe(packets.length);
      const nowMs = Date.now();
      for (const p of packets) lagSeconds.observe(Math.max(0, (nowMs - p[6]) / 1000));
    },
  };
}
