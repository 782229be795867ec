import type { ReceiptPacket } from "@receipt-sync/protocol";
import { openReceiptQueue, createRedis, waitForRedis } from "@receipt-sync/queue";
import pg from "pg";
import {
  callbackQuery,
  compareWithDatabase,
  type Comparison,
  expectedState,
  freePort,
  peakRssMb,
  startApp,
  waitFor,
  waitForHttp,
  waitForLog,
} from "@receipt-sync/testing";
import { fillQueue } from "./fill-queue.js";
import { postAll, type LoadResult } from "./http-load.js";
import { cpuMeter, cpuMicros, machineBusyUs, pidsNamed } from "./process-cpu.js";

type Env = { databaseUrl: string; redisUrl: string; sdkAppId: string };

type DrainResult = Comparison & {
  packets: number;
  jobs: number;
  enqueueMs: number;
  drainMs: number;
  packetsPerSecond: number;
  workerPeakRssMb: number;
  /**
   * CPU per packet while draining, from /proc: the worker (once ready), every Postgres process,
   * Redis, and the whole machine (every process and the kernel's loopback work).
   */
  cpuMicrosPerPacket: { worker: number; postgres: number; redis: number; machine: number };
};

/**
 * Fills the queue through the ingest's own store (durable-store.ts: group commit into jobs)
 * while no worker runs, then starts one worker process on the paused queue and, once it is
 * ready, resumes the queue and times it until the queue is empty. The worker's start-up (about
 * 0.6 s of CPU loading modules) is a one-off cost and stays out of the figures, as the ceiling's
 * set-up does.
 */
export async function measureDrain(
  env: Env & {
    prefix: string;
    packets: readonly ReceiptPacket[];
    /** Extra settings and node flags for the worker (profiling, trying settings). */
    worker?: { env?: Record<string, string>; nodeFlags?: readonly string[] };
  },
): Promise<DrainResult> {
  const redis = createRedis(env.redisUrl, "producer");
  await waitForRedis(redis, 5000);
  const queue = openReceiptQueue(redis, env.prefix);
  const enqueueMs = await fillQueue(env.redisUrl, env.prefix, env.packets);
  const jobs = (await queue.getJobCounts("waiting")).waiting ?? 0;
  await queue.pause();

  const worker = startApp(
    "worker",
    {
      DATABASE_URL: env.databaseUrl,
      REDIS_URL: env.redisUrl,
      QUEUE_PREFIX: env.prefix,
      LOG_LEVEL: "info",
      ...env.worker?.env,
    },
    env.worker?.nodeFlags,
  );
  let workerPeakRssMb = 0;
  let workerCpuMicros = 0;
  try {
    await waitForLog(worker, "worker ready");
    const postgresCpu = cpuMeter(() => pidsNamed("postgres"));
    const redisCpu = cpuMeter(() => pidsNamed("redis-server", `:${new URL(env.redisUrl).port || 6379}`));
    postgresCpu.start();
    redisCpu.start();
    const workerCpuAtStart = cpuMicros(worker.child.pid!);
    const machineAtStart = machineBusyUs();
    const startedMs = performance.now();
    // Listing every process costs this process about a millisecond of CPU, which the worker and
    // Postgres share the cores with: twice a second is enough to see backends come and go.
    let sampledMs = startedMs;
    await queue.resume();
    const outcome = await waitFor(
      "the queue to drain",
      async () => {
        workerPeakRssMb = Math.max(workerPeakRssMb, peakRssMb(worker.child.pid!));
        workerCpuMicros = cpuMicros(worker.child.pid!) - workerCpuAtStart;
        if (performance.now() - sampledMs >= 500) {
          postgresCpu.sample();
          sampledMs = performance.now();
        }
        const counts = await queue.getJobCounts("waiting", "active", "delayed", "prioritized", "failed");
        if (counts.failed! > 0) return "failed";
        return counts.waiting! + counts.active! + counts.delayed! + counts.prioritized! === 0 && "drained";
      },
      { timeoutMs: 300_000, intervalMs: 20 },
    );
    if (outcome === "failed") throw new Error(`jobs failed while draining: ${worker.output().slice(-2000)}`);
    const drainMs = performance.now() - startedMs;
    const machineMicros = machineBusyUs() - machineAtStart;
    workerPeakRssMb = Math.max(workerPeakRssMb, peakRssMb(worker.child.pid!));
    workerCpuMicros = cpuMicros(worker.child.pid!) - workerCpuAtStart;
    const perPacket = (micros: number) => micros / env.packets.length;
    const cpuMicrosPerPacket = {
      worker: perPacket(workerCpuMicros),
      postgres: perPacket(postgresCpu.stop()),
      redis: perPacket(redisCpu.stop()),
      machine: perPacket(machineMicros),
    };
    const comparison = await compareWithDatabase(env.databaseUrl, expectedState(env.packets));
    return {
      ...comparison,
      packets: env.packets.length,
      jobs,
      enqueueMs,
      drainMs,
      packetsPerSecond: env.packets.length / (drainMs / 1000),
      workerPeakRssMb,
      cpuMicrosPerPacket,
    };
  } finally {
    await worker.stop();
    await queue.obliterate({ force: true });
    await queue.close();
    await redis.quit();
  }
}

type EndToEndResult = Comparison & {
  posted: number;
  acked: number;
  load: LoadResult;
  postMs: number;
  tailMs: number;
  ingestPeakRssMb: number;
  workerPeakRssMb: number;
};

/** Posts a stream over HTTP at full speed with one worker running; times the tail after the last ack. */
export async function measureEndToEnd(
  env: Env & { prefix: string; packets: readonly ReceiptPacket[]; connections: number },
): Promise<EndToEndResult> {
  const port = await freePort();
  const shared = { REDIS_URL: env.redisUrl, QUEUE_PREFIX: env.prefix, LOG_LEVEL: "warn" };
  const ingest = startApp("ingest", { ...shared, SDKAPPID: env.sdkAppId, PORT: String(port) });
  const worker = startApp("worker", { ...shared, DATABASE_URL: env.databaseUrl });
  const rss = { ingest: 0, worker: 0 };
  const sampleRss = () => {
    rss.ingest = Math.max(rss.ingest, peakRssMb(ingest.child.pid!));
    rss.worker = Math.max(rss.worker, peakRssMb(worker.child.pid!));
  };
  const sampler = setInterval(sampleRss, 200);
  try {
    await waitForHttp(`http://127.0.0.1:${port}/readyz`);
    const bodies = env.packets.map((p) => JSON.stringify({ ...p.receipt, EventTime: String(p.receipt.EventTime) }));
    const url = `http://127.0.0.1:${port}/callback?${callbackQuery({ SdkAppid: env.sdkAppId })}`;
    const postStartedMs = performance.now();
    const { acked, lastAckMs, result } = await postAll({ url, bodies, connections: env.connections });
    const postMs = performance.now() - postStartedMs;
    const ackedPackets = env.packets.filter((_, i) => acked[i]);
    const expected = expectedState(ackedPackets);

    const client = new pg.Client({ connectionString: env.databaseUrl });
    await client.connect();
    try {
      await waitFor(
        "every acknowledged event to be written",
        async () => {
          const { rows } = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM read_receipt_events");
          return rows[0]!.n >= expected.events.size;
        },
        { timeoutMs: 120_000, intervalMs: 10 },
      );
    } finally {
      await client.end();
    }
    const tailMs = performance.now() - lastAckMs;
    sampleRss();
    const comparison = await compareWithDatabase(env.databaseUrl, expected);
    return {
      ...comparison,
      posted: bodies.length,
      acked: ackedPackets.length,
      load: result,
      postMs,
      tailMs,
      ingestPeakRssMb: rss.ingest,
      workerPeakRssMb: rss.worker,
    };
  } finally {
    clearInterval(sampler);
    await Promise.all([ingest.stop(), worker.stop()]);
    const redis = createRedis(env.redisUrl, "producer");
    await waitForRedis(redis, 5000);
    const queue = openReceiptQueue(redis, env.prefix);
    await queue.obliterate({ force: true });
    await queue.close();
    await redis.quit();
  }
}
