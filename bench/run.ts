// `npm run bench`: every figure next to a ceiling measured in the same run, on this machine.
import { fork } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import {
  callbackQuery,
  createTestDatabase,
  dropQueue,
  freePort,
  openQueue,
  query,
  receiptBody,
  startApp,
  TEST_REDIS_URL,
  uniquePrefix,
  waitForHttp,
} from "@receipt-sync/testing";
import { measureDbCeiling } from "./lib/ceiling.js";
import { barChartSvg } from "./lib/chart.js";
import { generateStream } from "./lib/dataset.js";
import { saturate, type LoadResult } from "./lib/http-load.js";
import { cpuMicros, pidsNamed } from "./lib/process-cpu.js";
import { pacedLatency, summariseLatency, type LatencySummary, type LatencyWindow } from "./lib/paced-latency.js";
import { measureDrain, measureEndToEnd } from "./lib/pipeline-runs.js";
import { runScaling } from "./scaling.js";

const settings = {
  packets: Number(process.env.BENCH_PACKETS ?? 100_000),
  e2ePackets: Number(process.env.BENCH_E2E_PACKETS ?? 30_000),
  rounds: Number(process.env.BENCH_ROUNDS ?? 5),
  roundSeconds: Number(process.env.BENCH_ROUND_SECONDS ?? 4),
  latencyWindows: Number(process.env.BENCH_LATENCY_WINDOWS ?? 5),
  latencySeconds: Number(process.env.BENCH_LATENCY_SECONDS ?? 4),
  connections: 50,
  groups: 1000,
  sdkAppId: "1400000001",
  // The database ceiling writes as the worker does by default: transactions of at most
  // WORKER_BATCH_PACKETS in weight (receiptPacketWeight: about ten rows a unit), one per lane
  // (DB_WRITE_CONCURRENCY); 100 or 250, or 4 connections, measured no faster here.
  ceilingBatchWeight: 500,
  ceilingConnections: 2,
  drainRounds: Number(process.env.BENCH_DRAIN_ROUNDS ?? 3),
};
const resultsDir = fileURLToPath(new URL("./results/", import.meta.url));
const startedMs = Date.now();
const progress = (line: string) =>
  process.stderr.write(`[${((Date.now() - startedMs) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
/** The median of each figure across rounds that measured the same figures. */
const medians = <T extends Record<string, number>>(rounds: T[]): T =>
  Object.fromEntries(Object.keys(rounds[0]!).map((key) => [key, median(rounds.map((r) => r[key]!))])) as T;

async function startEcho(): Promise<{ port: number; pid: number; stop: () => void }> {
  const child = fork(fileURLToPath(new URL("./echo-server.mjs", import.meta.url)), {
    env: { PORT: "0" },
    stdio: "ignore",
  });
  const port = await new Promise<number>((resolve) => child.once("message", (m: { port: number }) => resolve(m.port)));
  return { port, pid: child.pid!, stop: () => child.kill("SIGTERM") };
}

/** Writes out Postgres's dirty pages now, so that a checkpoint does not fall inside a measurement. */
async function checkpoint(databaseUrl: string): Promise<void> {
  try {
    await query(databaseUrl, "CHECKPOINT");
  } catch (error) {
    progress(`no CHECKPOINT (${error instanceof Error ? error.message : String(error)}); measuring without`);
  }
}

async function main() {
  progress(`machine: ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`);
  const db = await createTestDatabase();
  const env = { databaseUrl: db.url, redisUrl: TEST_REDIS_URL, sdkAppId: settings.sdkAppId };
  try {
    // 1-3: HTTP. The ceiling and the real ingest take turns so drift hits both alike.
    const body = JSON.stringify(
      receiptBody({ eventTimeMs: "1670574414123", messages: [{ seq: 1, read: 1, unread: 6, readers: ["user0"] }] }),
    );
    const echo = await startEcho();
    const ingestPrefix = uniquePrefix();
    const ingestPort = await freePort();
    const ingest = startApp("ingest", {
      SDKAPPID: settings.sdkAppId,
      PORT: String(ingestPort),
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: ingestPrefix,
    });
    await waitForHttp(`http://127.0.0.1:${ingestPort}/readyz`);
    const echoUrl = `http://127.0.0.1:${echo.port}/callback?${callbackQuery()}`;
    const ingestUrl = `http://127.0.0.1:${ingestPort}/callback?${callbackQuery()}`;
    const load = { url: "", body, connections: settings.connections };
    progress("warming up both servers");
    await saturate({ ...load, url: echoUrl, durationS: 2 });
    await saturate({ ...load, url: ingestUrl, durationS: 2 });
    const echoRuns: LoadResult[] = [];
    const ingestRuns: LoadResult[] = [];
    const ingestCpu = { ingest: 0, redis: 0, echo: 0, echoRequests: 0 };
    const redisPids = () => pidsNamed("redis-server", `:${new URL(TEST_REDIS_URL).port || 6379}`);
    for (let round = 1; round <= settings.rounds; round++) {
      const echoBefore = cpuMicros(echo.pid);
      echoRuns.push(await saturate({ ...load, url: echoUrl, durationS: settings.roundSeconds }));
      ingestCpu.echo += cpuMicros(echo.pid) - echoBefore;
      ingestCpu.echoRequests += echoRuns.at(-1)!.requests;
      const before = {
        ingest: cpuMicros(ingest.child.pid!),
        redis: redisPids().reduce((n, pid) => n + cpuMicros(pid), 0),
      };
      ingestRuns.push(await saturate({ ...load, url: ingestUrl, durationS: settings.roundSeconds }));
      ingestCpu.ingest += cpuMicros(ingest.child.pid!) - before.ingest;
      ingestCpu.redis += redisPids().reduce((n, pid) => n + cpuMicros(pid), 0) - before.redis;
      progress(
        `round ${round}/${settings.rounds}: express echo ${echoRuns.at(-1)!.rps.toFixed(0)} req/s, ingest ${ingestRuns.at(-1)!.rps.toFixed(0)} req/s`,
      );
    }
    const expressEchoRps = median(echoRuns.map((r) => r.rps));
    const ingestRps = median(ingestRuns.map((r) => r.rps));
    // Each round's pair ran back to back, so its ratio cancels the machine's drift; the median
    // of those ratios is steadier than a ratio of medians taken minutes apart.
    const ingestRatio = median(ingestRuns.map((r, i) => r.rps / echoRuns[i]!.rps));
    const ingestNon2xx = ingestRuns.reduce((n, r) => n + r.non2xx + r.errors, 0);
    const ingestRequests = ingestRuns.reduce((n, r) => n + r.requests, 0);
    const rate = ingestRps / 2;
    progress(
      `ack latency at a fixed ${Math.round(rate)} req/s, evenly paced: ${settings.latencyWindows} windows of ${settings.latencySeconds} s each, taking turns`,
    );
    const paced = { body, rate, durationS: settings.latencySeconds, warmupS: 1, connections: settings.connections };
    const echoWindows: LatencyWindow[] = [];
    const ingestWindows: LatencyWindow[] = [];
    for (let window = 1; window <= settings.latencyWindows; window++) {
      echoWindows.push(await pacedLatency({ ...paced, url: echoUrl }));
      ingestWindows.push(await pacedLatency({ ...paced, url: ingestUrl }));
    }
    const echoLatency = summariseLatency(echoWindows);
    const latency = summariseLatency(ingestWindows);
    const windowP99s = (s: LatencySummary) => s.windowP99Ms.map((ms) => ms.toFixed(0)).join(", ");
    progress(
      `p99: express echo ${echoLatency.p99Ms.toFixed(1)} ms (windows ${windowP99s(echoLatency)}), ingest ${latency.p99Ms.toFixed(1)} ms (windows ${windowP99s(latency)})`,
    );
    echo.stop();
    await ingest.stop();
    await dropQueue(openQueue(ingestPrefix));

    // 4-5: the database ceiling and one worker draining the same stream from a full queue.
    progress(`generating ${settings.packets} packets`);
    const stream = generateStream({
      packets: settings.packets,
      groups: settings.groups,
      seed: 1,
      sdkAppId: settings.sdkAppId,
    });
    // The ceiling and the drain take turns, each after a checkpoint, so that drift and
    // Postgres's own background writes hit both alike; each figure is the median of the rounds.
    const pairs: {
      ceiling: Awaited<ReturnType<typeof measureDbCeiling>>;
      drain: Awaited<ReturnType<typeof measureDrain>>;
    }[] = [];
    for (let round = 1; round <= settings.drainRounds; round++) {
      await checkpoint(db.url);
      const ceiling = await measureDbCeiling({
        databaseUrl: db.url,
        packets: stream,
        batchWeight: settings.ceilingBatchWeight,
        concurrency: settings.ceilingConnections,
      });
      await query(db.url, "TRUNCATE group_message_receipts, group_message_readers, read_receipt_events");
      await checkpoint(db.url);
      const drain = await measureDrain({ ...env, prefix: uniquePrefix(), packets: stream });
      pairs.push({ ceiling, drain });
      progress(
        `round ${round}/${settings.drainRounds}: ceiling ${ceiling.packetsPerSecond.toFixed(0)} packets/s, drain ${drain.packetsPerSecond.toFixed(0)} packets/s (${drain.jobs} jobs, lost ${drain.lost}, wrong ${drain.wrong + drain.extra})`,
      );
    }
    const ceiling = {
      packetsPerSecond: median(pairs.map((p) => p.ceiling.packetsPerSecond)),
      cpuMicrosPerPacket: medians(pairs.map((p) => p.ceiling.cpuMicrosPerPacket)),
    };
    const drain = {
      packetsPerSecond: median(pairs.map((p) => p.drain.packetsPerSecond)),
      jobs: pairs[0]!.drain.jobs,
      expectedRows: pairs[0]!.drain.expectedRows,
      lost: pairs.reduce((n, p) => n + p.drain.lost, 0),
      wrong: pairs.reduce((n, p) => n + p.drain.wrong, 0),
      extra: pairs.reduce((n, p) => n + p.drain.extra, 0),
      workerPeakRssMb: Math.max(...pairs.map((p) => p.drain.workerPeakRssMb)),
      cpuMicrosPerPacket: medians(pairs.map((p) => p.drain.cpuMicrosPerPacket)),
    };

    // 6: the whole pipeline over HTTP with a worker running alongside.
    await query(db.url, "TRUNCATE group_message_receipts, group_message_readers, read_receipt_events");
    progress(`end to end: posting ${settings.e2ePackets} callbacks over ${settings.connections} connections`);
    const e2eStream = generateStream({
      packets: settings.e2ePackets,
      groups: settings.groups,
      seed: 2,
      sdkAppId: settings.sdkAppId,
    });
    const e2e = await measureEndToEnd({
      ...env,
      prefix: uniquePrefix(),
      packets: e2eStream,
      connections: settings.connections,
    });
    progress(`e2e tail ${e2e.tailMs.toFixed(0)} ms, lost ${e2e.lost}, wrong ${e2e.wrong}`);

    const drainRatio = median(pairs.map((p) => p.drain.packetsPerSecond / p.ceiling.packetsPerSecond));
    // When both runs keep every core busy, throughput goes as the inverse of the machine's CPU
    // per packet: this is the drain_ratio the worker's own CPU leaves room for on this machine.
    const drainRatioCpuBound = median(
      pairs.map((p) => p.ceiling.cpuMicrosPerPacket.machine / p.drain.cpuMicrosPerPacket.machine),
    );
    const busyShare = (microsPerPacket: number, packetsPerSecond: number) =>
      (microsPerPacket * packetsPerSecond) / 1e6 / cpus().length;
    progress(
      `machine busy: ${(100 * busyShare(ceiling.cpuMicrosPerPacket.machine, ceiling.packetsPerSecond)).toFixed(0)} % during the ceiling, ${(100 * busyShare(drain.cpuMicrosPerPacket.machine, drain.packetsPerSecond)).toFixed(0)} % during the drain`,
    );
    const e2ePacketsPerSecond = e2e.acked / (e2e.postMs / 1000);
    const figures = {
      express_echo_rps: expressEchoRps,
      ingest_rps: ingestRps,
      ingest_ratio: ingestRatio,
      ingest_errors: ingestNon2xx,
      ack_rate_rps: latency.rps,
      ack_p50_ms: latency.p50Ms,
      ack_p99_ms: latency.p99Ms,
      ack_max_ms: latency.maxMs,
      ack_errors: latency.sent - latency.ok,
      echo_p50_ms: echoLatency.p50Ms,
      echo_p99_ms: echoLatency.p99Ms,
      echo_max_ms: echoLatency.maxMs,
      db_ceiling_packets_per_s: ceiling.packetsPerSecond,
      drain_packets_per_s: drain.packetsPerSecond,
      drain_ratio: drainRatio,
      drain_ratio_cpu_bound: drainRatioCpuBound,
      drain_jobs: drain.jobs,
      drain_lost: drain.lost,
      drain_wrong: drain.wrong + drain.extra,
      drain_expected_rows: drain.expectedRows,
      e2e_posted: e2e.posted,
      e2e_acked: e2e.acked,
      e2e_packets_per_s: e2ePacketsPerSecond,
      e2e_tail_ms: e2e.tailMs,
      e2e_lost: e2e.lost,
      e2e_wrong: e2e.wrong + e2e.extra,
      ingest_cpu_us_per_callback: ingestCpu.ingest / ingestRequests,
      echo_cpu_us_per_request: ingestCpu.echo / ingestCpu.echoRequests,
      redis_cpu_us_per_callback_ingest: ingestCpu.redis / ingestRequests,
      worker_cpu_us_per_packet: drain.cpuMicrosPerPacket.worker,
      postgres_cpu_us_per_packet: drain.cpuMicrosPerPacket.postgres,
      redis_cpu_us_per_packet_drain: drain.cpuMicrosPerPacket.redis,
      machine_cpu_us_per_packet_drain: drain.cpuMicrosPerPacket.machine,
      ceiling_postgres_cpu_us_per_packet: ceiling.cpuMicrosPerPacket.postgres,
      ceiling_client_cpu_us_per_packet: ceiling.cpuMicrosPerPacket.client,
      machine_cpu_us_per_packet_ceiling: ceiling.cpuMicrosPerPacket.machine,
      ingest_peak_rss_mb: e2e.ingestPeakRssMb,
      worker_peak_rss_mb: Math.max(drain.workerPeakRssMb, e2e.workerPeakRssMb),
    };
    const targets = [
      { name: "ingest_ratio >= 0.9", pass: ingestRatio >= 0.9 },
      { name: "ack_p99_ms <= 20 at half load", pass: latency.p99Ms <= 20 && latency.ok === latency.sent },
      { name: "drain_ratio >= 0.8", pass: drainRatio >= 0.8 },
      {
        name: "worker CPU per packet <= Postgres CPU per packet",
        pass: drain.cpuMicrosPerPacket.worker <= drain.cpuMicrosPerPacket.postgres,
      },
      { name: "e2e_tail_ms <= 2000", pass: e2e.tailMs <= 2000 },
      {
        name: "lost = 0 and wrong = 0 (drain and e2e)",
        pass:
          drain.lost + drain.wrong + drain.extra + e2e.lost + e2e.wrong + e2e.extra === 0 && e2e.acked === e2e.posted,
      },
      { name: "ingest peak RSS < 200 MB", pass: e2e.ingestPeakRssMb < 200 },
      { name: "worker peak RSS < 300 MB", pass: figures.worker_peak_rss_mb < 300 },
    ];
    await report(figures, targets, {
      latencyWindowP99Ms: { expressEcho: echoLatency.windowP99Ms, ingest: latency.windowP99Ms },
    });
    if (targets.some((t) => !t.pass)) process.exitCode = 1;
  } finally {
    await db.drop();
  }
}

type Figures = Record<string, number>;

async function report(figures: Figures, targets: { name: string; pass: boolean }[], details: Record<string, unknown>) {
  const fmt = (n: number) =>
    Number.isInteger(n) ? n.toLocaleString("en-US") : n < 10 ? n.toFixed(2) : Math.round(n).toLocaleString("en-US");
  const rows = Object.entries(figures).map(([k, v]) => `| ${k} | ${fmt(v)} |`);
  const checks = targets.map((t) => `| ${t.name} | ${t.pass ? "PASS" : "FAIL"} |`);
  const md = [
    `Run ${new Date().toISOString()} on ${cpus().length} cores, node ${process.version}; ${settings.packets.toLocaleString("en-US")} packets drained, ${settings.e2ePackets.toLocaleString("en-US")} posted end to end.`,
    "",
    "| figure | value |",
    "|---|---|",
    ...rows,
    "",
    "| target | result |",
    "|---|---|",
    ...checks,
    "",
  ].join("\n");
  process.stdout.write(`\n${md}\n`);
  await mkdir(resultsDir, { recursive: true });
  await writeFile(
    `${resultsDir}latest.json`,
    `${JSON.stringify({ settings, figures, targets, details, at: new Date().toISOString() }, null, 2)}\n`,
  );
  await writeFile(`${resultsDir}latest.md`, md);
  await writeFile(
    `${resultsDir}throughput.svg`,
    barChartSvg("Throughput per stage (one run, this machine)", [
      { label: "HTTP ceiling: bare Express", value: figures.express_echo_rps!, unit: "req/s" },
      { label: "ingest (validate + enqueue)", value: figures.ingest_rps!, unit: "req/s" },
      { label: "DB ceiling: raw pg, same SQL", value: figures.db_ceiling_packets_per_s!, unit: "packets/s" },
      { label: "one worker draining the queue", value: figures.drain_packets_per_s!, unit: "packets/s" },
      { label: "end to end over HTTP", value: figures.e2e_packets_per_s!, unit: "packets/s" },
    ]),
  );
}

await (process.argv.includes("--scaling") ? runScaling() : main());
