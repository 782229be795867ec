import { READ_RECEIPT_COMMAND, type ReceiptPacket } from "@receipt-sync/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  callbackQuery,
  compareWithDatabase,
  createTestDatabase,
  expectedState,
  freePort,
  peakRssMb,
  query,
  type RunningApp,
  startApp,
  TcpProxy,
  type TestDatabase,
  TestRedisServer,
  uniquePrefix,
  waitFor,
  waitForHttp,
} from "@receipt-sync/testing";

/**
 * The worker's side of an outage, with the worker's default deadlines: Postgres connections
 * that go silent for good, and a worker killed while another keeps going. Each scenario
 * streams callbacks through the real ingest and reports how long after the stream's end the
 * last acknowledged one reached Postgres.
 */
let redis: TestRedisServer;
let db: TestDatabase;
let pgProxy: TcpProxy;
let viaProxy: string;

beforeAll(async () => {
  redis = await TestRedisServer.start();
  db = await createTestDatabase();
  ({ proxy: pgProxy, url: viaProxy } = await TcpProxy.inFrontOf(db.url, 5432));
});
afterAll(async () => {
  await redis?.kill();
  await pgProxy?.close();
  await db?.drop();
});

function packets(fault: string, count: number): ReceiptPacket[] {
  return Array.from({ length: count }, (_, i) => ({
    sdkAppId: "1400000001",
    clientIp: null,
    optPlatform: null,
    receivedAtMs: 0,
    receipt: {
      CallbackCommand: READ_RECEIPT_COMMAND,
      GroupId: `@worker-${fault}-${i % 50}`,
      Type: "Work",
      EventTime: 1_700_000_000_000 + i,
      GroupMsgReceiptList: [
        { MsgSeq: i, ReadNum: 1 + (i % 7), UnreadNum: 10, ReadReceiptMembers: [{ Member_Account: `u${i}` }] },
      ],
    },
  }));
}

async function startIngest(prefix: string): Promise<{ app: RunningApp; url: string }> {
  const port = await freePort();
  const app = startApp("ingest", {
    SDKAPPID: "1400000001",
    PORT: String(port),
    REDIS_URL: redis.url,
    QUEUE_PREFIX: prefix,
  });
  await waitForHttp(`http://127.0.0.1:${port}/readyz`);
  return { app, url: `http://127.0.0.1:${port}/callback?${callbackQuery()}` };
}

const startWorker = (prefix: string) =>
  startApp("worker", { DATABASE_URL: viaProxy, REDIS_URL: redis.url, QUEUE_PREFIX: prefix });

/** Posts at about `perSecond`, calling `at` hooks when that many have been posted; returns those acknowledged. */
async function stream(
  url: string,
  list: ReceiptPacket[],
  perSecond: number,
  at: Record<number, () => void | Promise<void>> = {},
): Promise<ReceiptPacket[]> {
  const acked: ReceiptPacket[] = [];
  const startedMs = performance.now();
  const inFlight = new Set<Promise<void>>();
  for (let i = 0; i < list.length; i++) {
    await at[i]?.();
    const dueMs = startedMs + (i * 1000) / perSecond;
    if (dueMs > performance.now()) await new Promise((resolve) => setTimeout(resolve, dueMs - performance.now()));
    const packet = list[i]!;
    const request = fetch(url, {
      method: "POST",
      body: JSON.stringify(packet.receipt),
      signal: AbortSignal.timeout(3000),
    })
      .then(async (res) => {
        await res.arrayBuffer();
        if (res.status === 200) acked.push(packet);
      })
      .catch(() => undefined) // refused or timed out: not acknowledged, so not owed
      .finally(() => inFlight.delete(request));
    inFlight.add(request);
  }
  await Promise.all(inFlight);
  return acked;
}

/** Seconds from now until every acknowledged callback is in Postgres (fails after `limitS`). */
async function secondsUntilLanded(acked: ReceiptPacket[], limitS: number): Promise<number> {
  const expected = expectedState(acked);
  const startedMs = performance.now();
  await waitFor(
    "every acknowledged callback in Postgres",
    async () => {
      const c = await compareWithDatabase(db.url, expected);
      return c.lost === 0 && c.wrong === 0;
    },
    { timeoutMs: limitS * 1000, intervalMs: 250 },
  );
  return (performance.now() - startedMs) / 1000;
}

describe("worker outages", () => {
  it("Postgres connections that go silent for good: everything acknowledged lands within 60 s", async () => {
    const prefix = uniquePrefix();
    const ingest = await startIngest(prefix);
    const worker = startWorker(prefix);
    try {
      const list = packets("silent", 800);
      // Silence the worker's connections once it has written through them.
      const silence = async () => {
        await waitFor(
          "the worker to write",
          async () =>
            (
              await query<{ n: number }>(
                db.url,
                "SELECT count(*)::int AS n FROM read_receipt_events WHERE group_id LIKE '@worker-silent-%'",
              )
            )[0]!.n > 0,
        );
        pgProxy.silenceOpen();
      };
      const acked = await stream(ingest.url, list, 400, { 300: silence });
      expect(acked).toHaveLength(800);
      const seconds = await secondsUntilLanded(acked, 60);
      console.log(
        `silent Postgres connections: ${acked.length} acknowledged, all stored ${seconds.toFixed(1)} s after the stream ended`,
      );
    } finally {
      await Promise.all([ingest.app.stop(), worker.stop()]);
    }
  });

  it("one of two workers SIGKILLed mid-stream: the survivor has written everything within 20 s of the stream's end", async () => {
    const prefix = uniquePrefix();
    const ingest = await startIngest(prefix);
    const doomed = startWorker(prefix);
    const survivor = startWorker(prefix);
    try {
      const list = packets("kill", 1500);
      const acked = await stream(ingest.url, list, 300, { 750: () => void doomed.stop("SIGKILL") });
      expect(acked).toHaveLength(1500);
      const seconds = await secondsUntilLanded(acked, 20);
      console.log(
        `one of two workers SIGKILLed: ${acked.length} acknowledged, all stored ${seconds.toFixed(1)} s after the stream ended`,
      );
    } finally {
      await Promise.all([ingest.app.stop(), doomed.stop(), survivor.stop()]);
    }
  });

  it("forty of the largest callbacks the schema accepts, at once: all land, and the worker survives within its RSS target", async () => {
    const prefix = uniquePrefix();
    const ingest = await startIngest(prefix);
    const worker = startWorker(prefix);
    try {
      // 50 messages of 200 readers: MAX_READERS_PER_PACKET, about 450 KB of JSON each.
      const big = (i: number): ReceiptPacket => ({
        ...packets("big", 1)[0]!,
        receipt: {
          CallbackCommand: READ_RECEIPT_COMMAND,
          GroupId: `@worker-big-${i}`,
          Type: "Work",
          EventTime: 1_700_000_000_000 + i,
          GroupMsgReceiptList: Array.from({ length: 50 }, (_, m) => ({
            MsgSeq: m,
            ReadNum: 200,
            UnreadNum: 0,
            ReadReceiptMembers: Array.from({ length: 200 }, (_, r) => ({
              Member_Account: `member-with-a-longish-user-id-${r}`,
            })),
          })),
        },
      });
      const list = [...Array.from({ length: 40 }, (_, i) => big(i)), ...packets("honest", 1)];
      const replies = await Promise.all(
        list.map((p) => fetch(ingest.url, { method: "POST", body: JSON.stringify(p.receipt) }).then((r) => r.status)),
      );
      expect(replies.every((status) => status === 200)).toBe(true);
      const seconds = await secondsUntilLanded(list, 60);
      // An out-of-memory abort leaves no exit code, only a signal.
      expect(worker.child.exitCode).toBeNull();
      expect(worker.child.signalCode).toBeNull();
      // The weight caps on jobs and transactions bound what the worker holds; its heap limit
      // only sets how much garbage piles up on top. Its RSS target is 300 MB (README, Performance).
      const peakMb = peakRssMb(worker.child.pid!);
      expect(peakMb).toBeLessThan(300);
      console.log(
        `largest callbacks: 40 x 10,000 readers and 1 small, all stored ${seconds.toFixed(1)} s after the last reply; worker never restarted, peak RSS ${peakMb.toFixed(0)} MB`,
      );
    } finally {
      await Promise.all([ingest.app.stop(), worker.stop()]);
    }
  });
});
