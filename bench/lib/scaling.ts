import { loadavg } from "node:os";
import type { ReceiptPacket } from "@receipt-sync/protocol";
import { openReceiptQueue, createRedis, waitForRedis } from "@receipt-sync/queue";
import pg from "pg";
import {
  createTestDatabase,
  expectedState,
  query,
  type RunningApp,
  startApp,
  uniquePrefix,
  waitFor,
} from "@receipt-sync/testing";
import { measureDbCeiling } from "./ceiling.js";
import { fillQueue } from "./fill-queue.js";
import { CpuGroups, machineBusyUs, machineInterruptUs } from "./process-cpu.js";

/**
 * CPU per callback by process, in µs: what carries over to a bigger machine. `postgres` is the
 * workers' backends; `postgresBackground` the server's own processes (WAL writer, checkpointer,
 * background writer, autovacuum), shared with any other database on the server.
 */
type CpuPerCallback = {
  workers: number;
  postgres: number;
  postgresBackground: number;
  redis: number;
  bench: number;
};

export type ScalingPoint = {
  workers: number;
  packetsPerSecond: number;
  /** The measured stretch: from 20 % to 90 % of the queue taken, leaving out start-up and the tail. */
  windowSeconds: number;
  windowPackets: number;
  cpuUsPerCallback: CpuPerCallback;
  /** Share of the machine's CPU (all cores) busy in the window: ours, and everything else. */
  machineBusyShare: number;
  otherProcessesShare: number;
  /** Kernel interrupt work (mostly our own loopback traffic), charged to no process. */
  interruptShare: number;
  loadAverageBefore: number;
  /**
   * What the workers' Postgres backends were doing, sampled every 50 ms in the window (share of
   * samples): "cpu" running, "Client:ClientRead" waiting for their worker, "Lock:…" for another
   * transaction's row lock, "IO:WALSync" for the commit's fsync, and so on.
   */
  backendStates: Record<string, number>;
  ledgerRowsExpected: number;
  ledgerRowsWritten: number;
};

type CeilingPoint = {
  packetsPerSecond: number;
  connections: number;
  batchPackets: number;
  postgresCpuUsPerCallback: number;
  postgresBackgroundCpuUsPerCallback: number;
};

type Env = { redisUrl: string; cores: number };

const START_SHARE = 0.2;
const END_SHARE = 0.9;

/** Fills a queue with `packets`, then lets `workers` worker processes drain it into a fresh database. */
export async function measureWorkers(
  env: Env,
  workers: number,
  packets: readonly ReceiptPacket[],
): Promise<ScalingPoint> {
  const db = await createTestDatabase();
  const prefix = uniquePrefix();
  const redis = createRedis(env.redisUrl, "producer");
  await waitForRedis(redis, 5000);
  const queue = openReceiptQueue(redis, prefix);
  await fillQueue(env.redisUrl, prefix, packets);
  const jobs = (await queue.getJobCounts("waiting")).waiting!;
  const packetsPerJob = packets.length / jobs;
  const redisPid = Number(/process_id:(\d+)/.exec(String(await redis.info("server")))?.[1]);
  const watcher = new pg.Client({ connectionString: db.url });
  await watcher.connect();

  const loadAverageBefore = loadavg()[0]!;
  const spawnedAt = new Date();
  const meter = new CpuGroups();
  if (redisPid) meter.track("redis", redisPid);
  meter.track("bench", process.pid);
  const apps: RunningApp[] = Array.from({ length: workers }, () =>
    startApp("worker", { DATABASE_URL: db.url, REDIS_URL: env.redisUrl, QUEUE_PREFIX: prefix }),
  );
  for (const app of apps) meter.track("workers", app.child.pid!, true);

  type Mark = { atMs: number; waiting: number; cpu: Record<string, number>; machineUs: number; interruptUs: number };
  const states = new Map<string, number>();
  let opened: Mark | undefined;
  let closed: Mark | undefined;
  try {
    await waitFor(
      "the queue to drain",
      async () => {
        const backends = await watcher.query<{ pid: number; born: Date; state: string }>(
          `SELECT pid, backend_start AS born,
                  CASE WHEN state = 'active' AND wait_event IS NULL THEN 'cpu' ELSE coalesce(wait_event_type || ':' || wait_event, state) END AS state
             FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
        );
        for (const b of backends.rows) meter.track("postgres", b.pid, b.born >= spawnedAt);
        await trackBackground(watcher, meter, spawnedAt);
        if (opened && !closed) for (const b of backends.rows) states.set(b.state, (states.get(b.state) ?? 0) + 1);
        meter.sample();
        const counts = await queue.getJobCounts("waiting", "active", "delayed", "prioritized", "failed");
        if (counts.failed! > 0) throw new Error("jobs failed while draining");
        const mark = () => ({
          atMs: performance.now(),
          waiting: counts.waiting!,
          cpu: meter.totals(),
          machineUs: machineBusyUs(),
          interruptUs: machineInterruptUs(),
        });
        if (!opened && counts.waiting! <= jobs * (1 - START_SHARE)) opened = mark();
        if (opened && !closed && counts.waiting! <= jobs * (1 - END_SHARE)) closed = mark();
        return counts.waiting! + counts.active! + counts.delayed! + counts.prioritized! === 0;
      },
      { timeoutMs: 600_000, intervalMs: 50 },
    );
  } finally {
    await Promise.all(apps.map((app) => app.stop()));
    await watcher.end();
    await queue.obliterate({ force: true });
    await queue.close();
    await redis.quit();
  }
  if (!opened || !closed) throw new Error("the drain was too short to measure; raise --packets");

  const [written] = await query<{ n: number }>(db.url, "SELECT count(*)::int AS n FROM read_receipt_events");
  await db.drop();
  const windowSeconds = (closed.atMs - opened.atMs) / 1000;
  const windowPackets = (opened.waiting - closed.waiting) * packetsPerJob;
  const used = (group: string) => (closed!.cpu[group] ?? 0) - (opened!.cpu[group] ?? 0);
  const perCallback = (group: string) => used(group) / windowPackets;
  const ours = ["workers", "postgres", "postgresBackground", "redis", "bench"].reduce((sum, g) => sum + used(g), 0);
  const machineUs = closed.machineUs - opened.machineUs;
  const interruptUs = closed.interruptUs - opened.interruptUs;
  const capacityUs = windowSeconds * 1e6 * env.cores;
  return {
    workers,
    packetsPerSecond: windowPackets / windowSeconds,
    windowSeconds,
    windowPackets,
    cpuUsPerCallback: {
      workers: perCallback("workers"),
      postgres: perCallback("postgres"),
      postgresBackground: perCallback("postgresBackground"),
      redis: perCallback("redis"),
      bench: perCallback("bench"),
    },
    machineBusyShare: machineUs / capacityUs,
    otherProcessesShare: Math.max(0, machineUs - ours - interruptUs) / capacityUs,
    interruptShare: interruptUs / capacityUs,
    loadAverageBefore,
    backendStates: shares(states),
    ledgerRowsExpected: expectedState(packets).events.size,
    ledgerRowsWritten: written!.n,
  };
}

/** The SQL ceiling (ceiling.ts) on the same packets, with the CPU its Postgres backends used. */
export async function measureCeiling(
  packets: readonly ReceiptPacket[],
  connections: number,
  batchPackets: number,
): Promise<CeilingPoint> {
  const db = await createTestDatabase();
  const watcher = new pg.Client({ connectionString: db.url });
  await watcher.connect();
  const meter = new CpuGroups();
  const startedAt = new Date();
  let polling = true;
  const poll = (async () => {
    while (polling) {
      const backends = await watcher.query<{ pid: number; born: Date }>(
        "SELECT pid, backend_start AS born FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
      );
      for (const b of backends.rows) meter.track("postgres", b.pid, b.born >= startedAt);
      await trackBackground(watcher, meter, startedAt);
      meter.sample();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  try {
    const result = await measureDbCeiling({
      databaseUrl: db.url,
      packets,
      batchWeight: batchPackets,
      concurrency: connections,
    });
    polling = false;
    await poll;
    meter.sample();
    const totals = meter.totals();
    return {
      packetsPerSecond: result.packetsPerSecond,
      connections,
      batchPackets,
      postgresCpuUsPerCallback: (totals.postgres ?? 0) / packets.length,
      postgresBackgroundCpuUsPerCallback: (totals.postgresBackground ?? 0) / packets.length,
    };
  } finally {
    polling = false;
    await watcher.end();
    await db.drop();
  }
}

function shares(counts: Map<string, number>): Record<string, number> {
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  return Object.fromEntries(
    [...counts].sort((a, b) => b[1] - a[1]).map(([state, n]) => [state, Number((n / total).toFixed(3))]),
  );
}

/** The server's own processes (pg_stat_activity lists them with a backend_type other than a client's). */
async function trackBackground(watcher: pg.Client, meter: CpuGroups, since: Date): Promise<void> {
  const rows = await watcher.query<{ pid: number; born: Date }>(
    "SELECT pid, backend_start AS born FROM pg_stat_activity WHERE backend_type <> 'client backend'",
  );
  for (const b of rows.rows) meter.track("postgresBackground", b.pid, b.born >= since);
}
