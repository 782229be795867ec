import { READ_RECEIPT_COMMAND, type ReceiptPacket } from "@receipt-sync/protocol";
import { openReceiptQueue } from "@receipt-sync/queue";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  callbackQuery,
  compareWithDatabase,
  createTestDatabase,
  expectedState,
  freePort,
  query,
  type RunningApp,
  scratchDir,
  startApp,
  TcpProxy,
  type TestDatabase,
  TestRedisServer,
  uniquePrefix,
  waitFor,
  waitForHttp,
} from "@receipt-sync/testing";

/**
 * Breaks real parts while callbacks stream in, then compares what the ingest acknowledged
 * with what Postgres holds. Own redis-server (so it can be killed), own database, a TCP proxy
 * in front of Postgres (so it can be cut). Prints the fault table at the end.
 */
type Row = { fault: string; acknowledged: number; stored: number; lost: number; wrong: number };
const table: Row[] = [];

let redis: TestRedisServer;
let db: TestDatabase;
let pgProxy: TcpProxy;
let workerDatabaseUrl: string;

beforeAll(async () => {
  redis = await TestRedisServer.start();
  db = await createTestDatabase();
  ({ proxy: pgProxy, url: workerDatabaseUrl } = await TcpProxy.inFrontOf(db.url, 5432));
});

afterAll(async () => {
  const header = ["fault", "acknowledged", "stored", "lost", "wrong"];
  const lines = [header, ...table.map((r) => [r.fault, r.acknowledged, r.stored, r.lost, r.wrong].map(String))];
  const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  const format = (l: string[]) => `| ${l.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  console.log(
    ["", format(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...lines.slice(1).map(format), ""].join(
      "\n",
    ),
  );
  await redis?.kill();
  await pgProxy?.close();
  await db?.drop();
});

/** Packets that touch disjoint messages, so a stored-but-unacknowledged one cannot mask a lost one. */
function packets(fault: string, count: number): ReceiptPacket[] {
  return Array.from({ length: count }, (_, i) => ({
    sdkAppId: "1400000001",
    clientIp: null,
    optPlatform: null,
    receivedAtMs: 0,
    receipt: {
      CallbackCommand: READ_RECEIPT_COMMAND,
      GroupId: `@fault-${fault}`,
      Type: "Work",
      EventTime: 1_700_000_000_000 + i,
      GroupMsgReceiptList: [
        { MsgSeq: i, ReadNum: 1 + (i % 7), UnreadNum: 10, ReadReceiptMembers: [{ Member_Account: `u${i}` }] },
      ],
    },
  }));
}

type Stack = {
  prefix: string;
  ingest?: RunningApp;
  worker?: RunningApp;
  port: number;
  adminPort: number;
  spoolEnv: Record<string, string>;
};

async function newStack(): Promise<Stack> {
  return { prefix: uniquePrefix(), port: await freePort(), adminPort: await freePort(), spoolEnv: {} };
}

async function startIngest(stack: Stack, spoolDir?: string): Promise<void> {
  if (spoolDir) stack.spoolEnv = { SPOOL_DIR: spoolDir };
  stack.ingest = startApp("ingest", {
    SDKAPPID: "1400000001",
    PORT: String(stack.port),
    ADMIN_PORT: String(stack.adminPort),
    REDIS_URL: redis.url,
    QUEUE_PREFIX: stack.prefix,
    ENQUEUE_TIMEOUT_MS: "300",
    ...stack.spoolEnv,
  });
  await waitFor(
    "ingest to listen",
    async () => (await fetch(`http://127.0.0.1:${stack.port}/healthz`)).status === 200,
    { timeoutMs: 15_000, intervalMs: 50 },
  );
}

function startWorker(stack: Stack): void {
  stack.worker = startApp("worker", {
    DATABASE_URL: workerDatabaseUrl,
    REDIS_URL: redis.url,
    QUEUE_PREFIX: stack.prefix,
    WORKER_LOCK_DURATION_MS: "2000",
  });
}

/** Posts each packet (twice when `duplicate`), `concurrency` at a time; returns those acknowledged. */
async function post(
  stack: Stack,
  list: ReceiptPacket[],
  options: { concurrency?: number; duplicate?: boolean; latenciesMs?: number[] } = {},
): Promise<ReceiptPacket[]> {
  const acked = new Set<ReceiptPacket>();
  const url = `http://127.0.0.1:${stack.port}/callback?${callbackQuery()}`;
  const jobs = list.flatMap((p) => (options.duplicate ? [p, p] : [p]));
  let next = 0;
  await Promise.all(
    Array.from({ length: options.concurrency ?? 8 }, async () => {
      while (next < jobs.length) {
        const packet = jobs[next++]!;
        const startedMs = performance.now();
        try {
          const res = await fetch(url, {
            method: "POST",
            body: JSON.stringify(packet.receipt),
            signal: AbortSignal.timeout(3000),
          });
          await res.arrayBuffer();
          options.latenciesMs?.push(performance.now() - startedMs);
          if (res.status === 200) acked.add(packet);
        } catch {
          // refused or timed out: not acknowledged, so not owed
        }
      }
    }),
  );
  return [...acked];
}

async function settle(fault: string, acked: ReceiptPacket[]): Promise<Row> {
  const expected = expectedState(acked);
  await waitFor(
    `${fault}: every acknowledged callback in Postgres`,
    async () => (await compareWithDatabase(db.url, expected)).lost === 0,
    { timeoutMs: 60_000, intervalMs: 200 },
  ).catch(() => undefined); // the comparison below reports what is missing
  const result = await compareWithDatabase(db.url, expected);
  const rows = await query<{ seq: string }>(
    db.url,
    "SELECT msg_seq::text AS seq FROM read_receipt_events WHERE group_id = $1",
    [`@fault-${fault}`],
  );
  const present = new Set(rows.map((r) => Number(r.seq)));
  const stored = acked.filter((p) => present.has(p.receipt.GroupMsgReceiptList[0]!.MsgSeq)).length;
  const row = { fault, acknowledged: acked.length, stored, lost: result.lost, wrong: result.wrong };
  table.push(row);
  return row;
}

async function stopAll(stack: Stack): Promise<void> {
  await Promise.all([stack.ingest?.stop(), stack.worker?.stop()]);
}

describe("faults", () => {
  it("Redis killed while callbacks arrive: the ingest spools to disk, re-drives when Redis is back", async () => {
    const stack = await newStack();
    await startIngest(stack);
    startWorker(stack);
    const list = packets("redis-down", 300);
    const acked = await post(stack, list.slice(0, 100));
    await redis.kill();
    acked.push(...(await post(stack, list.slice(100, 200))));
    const ready = (await (await fetch(`http://127.0.0.1:${stack.adminPort}/readyz`)).json()) as { spooled: number }; // the detail is the admin port's
    expect(ready).toMatchObject({ status: "degraded", queue: "unreachable" });
    expect(ready.spooled).toBeGreaterThan(0);
    await redis.restart();
    acked.push(...(await post(stack, list.slice(200))));
    const row = await settle("redis-down", acked);
    await stopAll(stack);
    expect(acked).toHaveLength(300); // the spool kept every callback Redis could not take
    expect(row).toMatchObject({ lost: 0, wrong: 0 });
  });

  it("Redis killed with jobs waiting (AOF, fsync always): accepted jobs survive the restart", async () => {
    const stack = await newStack();
    await startIngest(stack);
    const acked = await post(stack, packets("redis-restart", 200));
    await redis.kill();
    await redis.restart();
    startWorker(stack);
    const row = await settle("redis-restart", acked);
    await stopAll(stack);
    expect(acked).toHaveLength(200);
    expect(row).toMatchObject({ lost: 0, wrong: 0 });
  });

  it("worker SIGKILLed mid-batch: its stalled jobs run again and the tables end exact", async () => {
    const stack = await newStack();
    await startIngest(stack);
    const list = packets("worker-kill", 400);
    const acked = await post(stack, list.slice(0, 300), { duplicate: true });
    startWorker(stack);
    await waitFor("the worker to start writing", async () => {
      const [row] = await query<{ n: number }>(
        db.url,
        "SELECT count(*)::int AS n FROM read_receipt_events WHERE group_id = '@fault-worker-kill'",
      );
      return row!.n > 0;
    });
    await stack.worker!.stop("SIGKILL");
    acked.push(...(await post(stack, list.slice(300))));
    startWorker(stack);
    const row = await settle("worker-kill", acked);
    await stopAll(stack);
    expect(row).toMatchObject({ lost: 0, wrong: 0 });
  });

  it("Postgres unreachable from the worker: jobs back off and stay in Redis, then all land", async () => {
    const stack = await newStack();
    await startIngest(stack);
    startWorker(stack);
    pgProxy.down();
    const acked = await post(stack, packets("postgres-down", 200), { duplicate: true });
    // Down until jobs have failed and been retried after a backoff: they wait in Redis as
    // delayed jobs, and the worker neither crashes nor gives up on them.
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = openReceiptQueue(connection, stack.prefix);
    try {
      // The worker counts a job's tries by its starts (attemptsStarted), whatever its options.
      const retried = await waitFor(
        "a job retried after backing off",
        async () => {
          const jobs = await queue.getJobs(["delayed", "waiting", "active"]);
          return jobs.find((job) => job.attemptsStarted >= 2);
        },
        { timeoutMs: 30_000, intervalMs: 100 },
      );
      expect(retried.attemptsStarted).toBeGreaterThanOrEqual(2);
      expect(await queue.getJobCounts("failed")).toEqual({ failed: 0 });
      expect(stack.worker!.child.exitCode).toBeNull();
    } finally {
      await queue.close();
      await connection.quit();
      pgProxy.up();
    }
    const row = await settle("postgres-down", acked);
    await stopAll(stack);
    expect(row).toMatchObject({ lost: 0, wrong: 0 });
  });

  it("ingest SIGKILLed while its spool holds callbacks: the next ingest re-drives them on boot", async () => {
    const stack = await newStack();
    await startIngest(stack, scratchDir("fault-spool"));
    startWorker(stack);
    await redis.kill();
    const acked = await post(stack, packets("ingest-kill", 150));
    await stack.ingest!.stop("SIGKILL");
    await redis.restart();
    await startIngest(stack);
    const row = await settle("ingest-kill", acked);
    await stopAll(stack);
    expect(acked).toHaveLength(150);
    expect(row).toMatchObject({ lost: 0, wrong: 0 });
  });

  it("Redis hangs instead of failing: the ingest answers within the deadline from the spool, even in a burst past the in-flight cap", async () => {
    const stack = await newStack();
    const redisProxy = await TcpProxy.start(redis.port);
    const hungUrl = `redis://127.0.0.1:${redisProxy.port}`;
    stack.ingest = startApp("ingest", {
      SDKAPPID: "1400000001",
      PORT: String(stack.port),
      REDIS_URL: hungUrl,
      QUEUE_PREFIX: stack.prefix,
      ENQUEUE_TIMEOUT_MS: "300",
      MAX_IN_FLIGHT_REQUESTS: "20",
    });
    await waitForHttp(`http://127.0.0.1:${stack.port}/readyz`);
    startWorker(stack);
    const list = packets("redis-hang", 200);
    const acked = await post(stack, list.slice(0, 50));
    redisProxy.stall();
    const latenciesMs: number[] = [];
    acked.push(...(await post(stack, list.slice(50, 100), { latenciesMs })));
    expect(latenciesMs).toHaveLength(50);
    expect(Math.max(...latenciesMs)).toBeLessThan(1500); // Tencent gives up after 2 s

    // Three times the cap at once. The breaker is open, so nothing waits on Redis: a callback
    // holds its place under the cap for one spool fsync. One refused here is refused by the cap
    // (memory), at once, never after waiting on Redis. The cap itself: create-app.test.ts.
    const url = `http://127.0.0.1:${stack.port}/callback?${callbackQuery()}`;
    const burst = await Promise.all(
      list.slice(100, 160).map((p) =>
        fetch(url, { method: "POST", body: JSON.stringify(p.receipt) }).then(async (r) => ({
          status: r.status,
          packet: p,
          body: await r.text(),
        })),
      ),
    );
    expect(burst.filter((r) => r.status !== 200).every((r) => r.status === 503 && r.body.includes("overloaded"))).toBe(
      true,
    );
    acked.push(...burst.filter((r) => r.status === 200).map((r) => r.packet));

    redisProxy.resume();
    acked.push(...(await post(stack, list.slice(160))));
    const row = await settle("redis-hang", acked);
    await stopAll(stack);
    await redisProxy.close();
    expect(row).toMatchObject({ lost: 0, wrong: 0 });
  });

  it("SIGTERM to ingest and worker mid-stream: both stop cleanly and nothing acknowledged is lost", async () => {
    const stack = await newStack();
    await startIngest(stack);
    startWorker(stack);
    const list = packets("sigterm", 400);
    const posting = post(stack, list.slice(0, 300), { concurrency: 16 });
    await waitFor("some callbacks to land", async () => {
      const [row] = await query<{ n: number }>(
        db.url,
        "SELECT count(*)::int AS n FROM read_receipt_events WHERE group_id = '@fault-sigterm'",
      );
      return row!.n > 20;
    });
    const [ingestExit, workerExit] = await Promise.all([stack.ingest!.stop("SIGTERM"), stack.worker!.stop("SIGTERM")]);
    expect({ ingestExit, workerExit }).toEqual({ ingestExit: 0, workerExit: 0 });
    const acked = await posting;
    await startIngest(stack);
    startWorker(stack);
    acked.push(...(await post(stack, list.slice(300))));
    const row = await settle("sigterm", acked);
    await stopAll(stack);
    expect(row).toMatchObject({ lost: 0, wrong: 0 });
  });
});
