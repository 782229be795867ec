import { spawnSync } from "node:child_process";
import type { ReceiptPacket } from "@receipt-sync/protocol";
import { MAINTENANCE_QUEUE_NAME, PRUNE_SCHEDULER_ID, RECEIPT_QUEUE_NAME, createRedis } from "@receipt-sync/queue";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import {
  APP_ID,
  callbackQuery,
  compareWithDatabase,
  createTestDatabase,
  dropQueue,
  expectedState,
  freePort,
  openQueue,
  query,
  receiptPacket,
  REPO_ROOT,
  type RunningApp,
  startApp,
  TEST_REDIS_URL,
  type TestDatabase,
  uniquePrefix,
  waitFor,
  waitForHttp,
} from "@receipt-sync/testing";

/**
 * Runs under `npm run test:cluster`, where TEST_REDIS_URL names the 3-master cluster that
 * packages/testing/src/cluster-setup.ts started (the e2e suite runs against the same cluster).
 */
const clusterPorts = (process.env.TEST_REDIS_CLUSTER_PORTS ?? "").split(",").filter(Boolean).map(Number);
const prefix = uniquePrefix();
let db: TestDatabase;
let port: number;
let adminPort: number;
let ingest: RunningApp;
let worker: RunningApp | undefined;

const shared = () => ({ REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix });
const startWorker = () =>
  startApp("worker", {
    ...shared(),
    DATABASE_URL: db.url,
    WORKER_LOCK_DURATION_MS: "2000",
    WORKER_STALLED_INTERVAL_MS: "1000",
  });

beforeAll(async () => {
  db = await createTestDatabase();
  port = await freePort();
  adminPort = await freePort();
  ingest = startApp("ingest", {
    ...shared(),
    SDKAPPID: APP_ID,
    PORT: String(port),
    ADMIN_PORT: String(adminPort),
    ADMIN_USER: "ops",
    ADMIN_PASSWORD: "pw",
  });
  await waitForHttp(`http://127.0.0.1:${port}/readyz`);
});
afterAll(async () => {
  await Promise.all([ingest?.stop(), worker?.stop()]);
  await dropQueue(openQueue(prefix));
  await db?.drop();
});

/** Messages of their own per test, so a stored-but-unacknowledged one cannot mask a lost one. */
function packets(groupId: string, count: number): ReceiptPacket[] {
  return Array.from({ length: count }, (_, i) =>
    receiptPacket({
      groupId,
      eventTimeMs: 1_700_000_000_000 + i,
      messages: [{ seq: i, read: 1 + (i % 7), unread: 10, readers: [`u${i}`] }],
    }),
  );
}

async function post(list: readonly ReceiptPacket[], concurrency = 8): Promise<ReceiptPacket[]> {
  const acked: ReceiptPacket[] = [];
  const url = `http://127.0.0.1:${port}/callback?${callbackQuery()}`;
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < list.length) {
        const packet = list[next++]!;
        const res = await fetch(url, {
          method: "POST",
          body: JSON.stringify(packet.receipt),
          signal: AbortSignal.timeout(3000),
        });
        await res.arrayBuffer();
        if (res.status === 200) acked.push(packet);
      }
    }),
  );
  return acked;
}

async function keysOn(nodePort: number, pattern: string): Promise<string[]> {
  const node = new Redis(nodePort, "127.0.0.1");
  try {
    return await node.keys(pattern);
  } finally {
    node.disconnect();
  }
}

describe("on a 3-master Redis Cluster", () => {
  it("runs on a real cluster whose slots are spread over three masters", async () => {
    expect(TEST_REDIS_URL).toMatch(/^redis-cluster:\/\//);
    expect(clusterPorts).toHaveLength(3);
    const node = new Redis(clusterPorts[0]!, "127.0.0.1");
    const info = String(await node.call("CLUSTER", "INFO"));
    node.disconnect();
    expect(info).toContain("cluster_state:ok");
    expect(info).toMatch(/cluster_size:3\r?\n/);
  });

  it("keeps every key of the queue on one master, in the slot of the prefix's hash tag", async () => {
    const acked = await post(packets("cluster-keys", 20));
    expect(acked).toHaveLength(20);
    const byNode = await Promise.all(clusterPorts.map((p) => keysOn(p, `${prefix}:*`)));
    const holders = byNode.filter((keys) => keys.length > 0);
    expect(holders).toHaveLength(1);
    expect(holders[0]!.some((key) => key.startsWith(`${prefix}:${RECEIPT_QUEUE_NAME}:`))).toBe(true);
  });

  it("SIGKILLed worker: its stalled jobs run again elsewhere and the tables end exact", async () => {
    const list = packets("cluster-worker-kill", 400);
    const acked = await post(list.slice(0, 300));
    worker = startWorker();
    await waitFor("the worker to start writing", async () => {
      const [row] = await query<{ n: number }>(
        db.url,
        "SELECT count(*)::int AS n FROM read_receipt_events WHERE group_id = 'cluster-worker-kill'",
      );
      return row!.n > 0;
    });
    await worker.stop("SIGKILL");
    acked.push(...(await post(list.slice(300))));
    worker = startWorker();
    const expected = expectedState(acked);
    await waitFor(
      "every acknowledged callback in Postgres",
      async () => (await compareWithDatabase(db.url, expected)).lost === 0,
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    expect(acked).toHaveLength(400);
    expect(await compareWithDatabase(db.url, expected)).toMatchObject({ lost: 0, wrong: 0 });
  });

  it("schedules and runs retention on the cluster, its queue in the same slot", async () => {
    await query(
      db.url,
      "INSERT INTO group_message_receipts VALUES (1400000001, 'cluster-old', 1, 'Public', 1, 0, now() - interval '40 days', now())",
    );
    await query(
      db.url,
      "INSERT INTO read_receipt_events VALUES (1400000001, 'cluster-old', 1, now() - interval '40 days', now(), NULL, NULL)",
    );
    const pruning = startApp("worker", { ...shared(), DATABASE_URL: db.url, RETENTION_DAYS: "30" });
    try {
      await waitFor(
        "the old message pruned",
        async () =>
          (await query(db.url, "SELECT 1 FROM group_message_receipts WHERE group_id = 'cluster-old'")).length === 0,
        { timeoutMs: 20_000 },
      );
      const connection = createRedis(TEST_REDIS_URL, "worker");
      const maintenance = new Queue(MAINTENANCE_QUEUE_NAME, { connection, prefix });
      expect(await maintenance.getJobScheduler(PRUNE_SCHEDULER_ID)).toMatchObject({ every: 3600_000 });
      await maintenance.close();
      await connection.quit();
      const byNode = await Promise.all(clusterPorts.map((p) => keysOn(p, `${prefix}:*`)));
      expect(byNode.filter((keys) => keys.length > 0)).toHaveLength(1);
      expect(byNode.flat().some((key) => key.startsWith(`${prefix}:${MAINTENANCE_QUEUE_NAME}:`))).toBe(true);
    } finally {
      await pruning.stop();
    }
  });

  it("serves Bull Board from the cluster client", async () => {
    const auth = { authorization: `Basic ${Buffer.from("ops:pw").toString("base64")}` };
    const res = await fetch(`http://127.0.0.1:${adminPort}/admin/queues/api/queues`, { headers: auth });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { queues: { name: string }[] };
    expect(body.queues.map((q) => q.name)).toEqual([RECEIPT_QUEUE_NAME]);
  });

  it("lets npm run dlq read the failed set through the cluster", () => {
    const result = spawnSync(process.execPath, ["apps/worker/dist/dlq-cli.js", "list", "--json"], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH, ...shared() },
      encoding: "utf8",
    });
    expect(result.stderr).toBe("");
    expect(JSON.parse(result.stdout)).toEqual([]);
  });

  it("refuses a prefix without a hash tag, naming the variable and the fix", async () => {
    const app = startApp("worker", { REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: "receipt-sync", DATABASE_URL: db.url });
    onTestFinished(() => void app.stop("SIGKILL"));
    expect(await app.exited).toBe(1);
    expect(app.output().trim()).toBe(
      "config error: QUEUE_PREFIX must contain a hash tag when REDIS_URL names a cluster (e.g. {receipt-sync}), so that the queue's keys share one slot",
    );
  });
});
