// `npm run reconcile -- --app <SdkAppid> [--group <GroupId> [--seq <MsgSeq>]] [--since 6h] [--dry-run] [--json]`:
// one pass now, by hand: shows what differs from Tencent and repairs it unless --dry-run.
import { createDatabase } from "@receipt-sync/db";
import { createRedis, waitForRedis } from "@receipt-sync/queue";
import { createLogger, loadConfigOrExit, parseCliArgs, usageError } from "@receipt-sync/runtime";
import { createAppSession } from "./app-session.js";
import { loadConfig } from "./load-config.js";
import { differenceTable, parseDuration, progressBar, summaryLine } from "./format-report.js";
import { runPass } from "./run-pass.js";

const USAGE =
  "usage: npm run reconcile -- --app <SdkAppid> [--group <GroupId> [--seq <MsgSeq>]] [--since 6h] [--dry-run] [--json]";

const fail: (message: string) => never = usageError(USAGE);
const { values } = parseCliArgs(
  {
    app: { type: "string" },
    group: { type: "string" },
    seq: { type: "string" },
    since: { type: "string" },
    "dry-run": { type: "boolean" },
    json: { type: "boolean" },
  },
  USAGE,
);
const { app, group, seq, since, json } = values;
const dryRun = values["dry-run"] ?? false;
if (!app || !/^[0-9]{1,18}$/.test(app)) fail("--app must be a numeric SdkAppid");
if (seq !== undefined && !group) fail("--seq needs --group");
if (seq !== undefined && !/^[0-9]{1,15}$/.test(seq)) fail("--seq must be a MsgSeq (a whole number)");
const sinceMs = since === undefined ? undefined : parseDuration(since);
if (since !== undefined && sinceMs === undefined) fail("--since must be a duration such as 90s, 30m, 6h or 2d");

// The service's own configuration; SDKAPPID does not limit which app is named here, and logs
// stay quiet unless LOG_LEVEL asks for more.
const config = loadConfigOrExit((env) => loadConfig({ ...env, LOG_LEVEL: env.LOG_LEVEL || "warn", SDKAPPID: app }));
const log = createLogger({ name: "reconcile", level: config.logLevel });
const db = createDatabase({ databaseUrl: config.databaseUrl, poolMax: 2 });
const redis = createRedis(config.redisUrl, "producer");
redis.on("error", () => undefined); // no Redis means no over-limit alerts to honour, nothing more
const session = createAppSession(config, config.apps[0]!, { redis, log });
const interrupted = new AbortController();
process.once("SIGINT", () => interrupted.abort(new Error("interrupted")));
const progress = progressBar(process.stderr);
try {
  await waitForRedis(redis, 1000).then(
    () => session.alerts.check(),
    () => undefined,
  );
  const report = await runPass(
    { db, client: session.client, nowMs: Date.now },
    {
      sdkAppId: app,
      sinceMs: Date.now() - (sinceMs ?? config.lookbackMs),
      groupId: group,
      msgSeq: seq === undefined ? undefined : Number(seq),
      dryRun,
      receiptBatch: config.receiptBatch,
      groupsInFlight: config.groupsInFlight,
      signal: interrupted.signal,
      onProgress: progress,
    },
  );
  progress.end();
  if (json) {
    console.log(JSON.stringify(report, null, 2));
  } else {
    if (report.differences.length > 0) console.table(differenceTable(report));
    for (const s of report.skips)
      console.log(
        `skipped ${s.groupId}${s.msgSeq === null ? "" : ` MsgSeq ${s.msgSeq}`}: ${s.api} answered ${s.errorCode} ${s.errorInfo}`,
      );
    console.log(summaryLine(report));
  }
  if (report.stopped) {
    console.error(`stopped: ${report.stopped.api} answered ${report.stopped.code} ${report.stopped.info}`);
    process.exitCode = 1;
  }
} catch (error) {
  progress.end();
  console.error(`reconcile failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  session.alerts.stop();
  redis.disconnect();
  await db.$disconnect();
}
