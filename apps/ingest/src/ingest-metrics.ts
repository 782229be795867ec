import { READ_RECEIPT_COMMAND, REQUEST_OVER_LIMIT_COMMAND } from "@receipt-sync/protocol";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export type IngestMetrics = ReturnType<typeof createIngestMetrics>;

/**
 * The ingest's Prometheus metrics, in a registry of its own (no global state, so tests can run
 * several ingests in one process). `command` is bounded to three values: the query string is
 * the caller's, and a label per unknown command would let anyone grow our series.
 */
export function createIngestMetrics(state: {
  spoolDepth: () => number;
  breakerOpen: () => boolean;
  orphansAdopted: () => number;
}) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const callbacks = new Counter({
    name: "receipt_sync_callbacks_total",
    help: "Callbacks answered, by command (read_receipt, request_over_limit or other) and outcome.",
    labelNames: ["command", "outcome"] as const,
    registers: [registry],
  });
  const replySeconds = new Histogram({
    name: "receipt_sync_reply_duration_seconds",
    help: "Time from request to reply on the callback path.",
    labelNames: ["outcome"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2],
    registers: [registry],
  });
  const enqueueSeconds = new Histogram({
    name: "receipt_sync_enqueue_duration_seconds",
    help: "Time for a callback to become durable, by where it was stored (queue or spool).",
    labelNames: ["stored_in"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2],
    registers: [registry],
  });
  new Gauge({
    name: "receipt_sync_spool_depth",
    help: "Callbacks in the local spool waiting for Redis.",
    registers: [registry],
    collect() {
      this.set(state.spoolDepth());
    },
  });
  new Gauge({
    name: "receipt_sync_breaker_open",
    help: "1 while the ingest spools every callback because Redis refused or timed out (until a PING succeeds), else 0.",
    registers: [registry],
    collect() {
      this.set(state.breakerOpen() ? 1 : 0);
    },
  });
  new Counter({
    name: "receipt_sync_spool_orphans_adopted_total",
    help: "Spool directories of ingests that are gone whose callbacks this ingest adopted and re-drives.",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(state.orphansAdopted());
    },
  });
  return {
    registry,
    recordReply(command: string | undefined, outcome: string, seconds: number) {
      callbacks.inc({ command: commandLabel(command), outcome });
      replySeconds.observe({ outcome }, seconds);
    },
    recordStore(storedIn: "queue" | "spool", seconds: number) {
      enqueueSeconds.observe({ stored_in: storedIn }, seconds);
    },
  };
}

function commandLabel(command: string | undefined): string {
  if (command === READ_RECEIPT_COMMAND) return "read_receipt";
  return command === REQUEST_OVER_LIMIT_COMMAND ? "request_over_limit" : "other";
}
