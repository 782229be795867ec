import type { Server } from "node:http";
import { createDatabase } from "@receipt-sync/db";
import { createRedis, waitForRedis } from "@receipt-sync/queue";
import { createLogger, createShutdown, secondsSince, serveMetrics, type Logger } from "@receipt-sync/runtime";
import { createAppSession, type AppSession } from "./app-session.js";
import { realClock } from "./call-budget.js";
import type { ReconcilerConfig } from "./load-config.js";
import { createReconcilerMetrics } from "./reconciler-metrics.js";
import { runPass, type PassReport } from "./run-pass.js";

export type Reconciler = {
  log: Logger;
  /** Stops the pass in progress (its calls are cancelled, its repairs so far are kept), then closes Redis and Postgres. */
  shutdown: () => Promise<boolean>;
};

/**
 * Runs a pass over every configured app at start and then every `intervalMs`, one app after
 * another. One replica is enough and more would only spend the budget twice.
 */
export async function startReconciler(
  config: ReconcilerConfig,
  log = createLogger({ name: "reconciler", level: config.logLevel }),
  options: { alertPollMs?: number } = {},
): Promise<Reconciler> {
  const db = createDatabase({ databaseUrl: config.databaseUrl, poolMax: 2 });
  const redis = createRedis(config.redisUrl, "producer");
  let redisDown = false;
  redis.on("error", (error) => {
    if (!redisDown)
      log.warn({ err: error.message }, "redis unreachable: over-limit alerts from the ingest cannot be read");
    redisDown = true;
  });
  redis.on("ready", () => (redisDown = false));
  // An alert already in force must slow the very first pass; without Redis the passes still run.
  await waitForRedis(redis, 2000).catch((error: unknown) =>
    log.warn({ err: (error as Error).message }, "starting without redis"),
  );
  const metrics = createReconcilerMetrics();
  const sessions = config.apps.map((app) =>
    createAppSession(config, app, { redis, log, metrics, alertPollMs: options.alertPollMs }),
  );
  await Promise.all(sessions.map((s) => s.alerts.start()));
  const metricsServer: Server | undefined =
    config.metricsPort === undefined ? undefined : await serveMetrics(metrics.registry, config.metricsPort);

  const stopping = new AbortController();
  const passOnce = async (session: AppSession): Promise<void> => {
    const startedAt = process.hrtime.bigint();
    let report: PassReport | undefined;
    try {
      report = await runPass(
        { db, client: session.client, nowMs: Date.now, events: metrics.passEvents(session.sdkAppId) },
        {
          sdkAppId: session.sdkAppId,
          sinceMs: Date.now() - config.lookbackMs,
          receiptBatch: config.receiptBatch,
          groupsInFlight: config.groupsInFlight,
          signal: stopping.signal,
        },
      );
      logReport(log, report);
    } catch (error) {
      if (stopping.signal.aborted)
        return log.info({ sdkAppId: session.sdkAppId }, "pass cut short by shutdown; repairs made so far are kept");
      log.error(
        { sdkAppId: session.sdkAppId, err: error instanceof Error ? error.message : String(error) },
        "pass failed",
      );
    }
    metrics.recordPass(report, session.sdkAppId, secondsSince(startedAt));
  };
  const loop = (async () => {
    while (!stopping.signal.aborted) {
      for (const session of sessions) if (!stopping.signal.aborted) await passOnce(session);
      await realClock.sleep(config.intervalMs, stopping.signal).catch(() => undefined); // woken by shutdown
    }
  })();
  log.info(
    {
      apps: sessions.map((s) => s.sdkAppId),
      host: config.apiBaseUrl,
      callsPerSecond: config.callsPerSecond,
      intervalMs: config.intervalMs,
      lookbackMs: config.lookbackMs,
    },
    "reconciler started",
  );

  const stepMs = config.shutdownTimeoutMs;
  const shutdown = createShutdown(
    [
      {
        name: "stop the pass",
        timeoutMs: stepMs,
        run: async () => {
          stopping.abort(new Error("shutting down"));
          for (const s of sessions) s.alerts.stop();
          await loop;
        },
      },
      {
        name: "close metrics",
        timeoutMs: stepMs,
        run: () => new Promise((resolve) => (metricsServer ? metricsServer.close(() => resolve()) : resolve())),
      },
      {
        name: "close redis",
        timeoutMs: stepMs,
        run: async () => void (await redis.quit().catch(() => redis.disconnect())),
      },
      { name: "close database", timeoutMs: stepMs, run: () => db.$disconnect() },
    ],
    log,
  );
  return { log, shutdown };
}

function logReport(log: Logger, report: PassReport): void {
  const { differences, skips, ...summary } = report;
  const line = { ...summary, differences: differences.length, skipped: skips.length };
  if (report.stopped) log.error(line, "pass stopped: fix the cause and the next pass starts afresh");
  else log.info(line, "pass completed");
  for (const d of differences)
    log.debug({ groupId: d.groupId, msgSeq: d.msgSeq, differences: d.differences, repaired: d.repaired }, "difference");
}
