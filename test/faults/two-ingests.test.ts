import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { READ_RECEIPT_COMMAND, type ReceiptPacket } from "@receipt-sync/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  callbackQuery,
  compareWithDatabase,
  createTestDatabase,
  expectedState,
  freePort,
  RoundRobinProxy,
  scratchDir,
  startApp,
  TestRedisServer,
  uniquePrefix,
  waitFor,
  type RunningApp,
  type TestDatabase,
} from "@receipt-sync/testing";

/**
 * Two ingests behind one port, each spooling into its own directory under one SPOOL_DIR, while
 * Redis is down. One is SIGKILLed with its spool full of acknowledged callbacks and never comes
 * back; once Redis returns, the survivor must adopt the dead one's directory and re-drive it, so
 * that every callback answered 200 is in Postgres, exactly.
 */
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db?.drop();
});

function callbacks(from: number, count: number): ReceiptPacket[] {
  return Array.from({ length: count }, (_, k) => {
    const i = from + k;
    return {
      sdkAppId: "1400000001",
      clientIp: "203.0.113.7",
      optPlatform: "iOS",
      receivedAtMs: 0,
      receipt: {
        CallbackCommand: READ_RECEIPT_COMMAND,
        GroupId: "@two-ingests",
        Type: "Work",
        EventTime: 1_700_000_000_000 + i,
        GroupMsgReceiptList: [
          { MsgSeq: i, ReadNum: 1 + (i % 7), UnreadNum: 10, ReadReceiptMembers: [{ Member_Account: `u${i}` }] },
        ],
      },
    };
  });
}

type Ingest = { app: RunningApp; port: number; adminPort: number };

async function startIngest(env: Record<string, string>): Promise<Ingest> {
  const [port, adminPort] = [await freePort(), await freePort()];
  const app = startApp("ingest", { SDKAPPID: "1400000001", PORT: String(port), ADMIN_PORT: String(adminPort), ...env });
  const outcome = await waitFor(
    "ingest to listen",
    async () => {
      if (app.child.exitCode !== null) return "exited";
      return (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200 && "listening";
    },
    { timeoutMs: 15_000, intervalMs: 50 },
  );
  if (outcome === "exited") throw new Error(`ingest exited with ${app.child.exitCode}: ${app.output().slice(-400)}`);
  return { app, port, adminPort };
}

/** Posts each callback through `port`, 16 at a time (16 connections: 8 to each ingest); returns those answered 200. */
async function post(port: number, list: ReceiptPacket[]): Promise<ReceiptPacket[]> {
  const acked: ReceiptPacket[] = [];
  const url = `http://127.0.0.1:${port}/callback?${callbackQuery()}`;
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < list.length) {
        const packet = list[next++]!;
        const status = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(packet.receipt),
          signal: AbortSignal.timeout(10_000),
        }).then(
          async (res) => (await res.arrayBuffer(), res.status),
          () => 0,
        );
        if (status === 200) acked.push(packet);
      }
    }),
  );
  return acked;
}

/** Callbacks in the spool segments directly in `dir`. */
function spooledIn(dir: string): number {
  if (!existsSync(dir)) return 0;
  return readdirSync(dir)
    .filter((name) => name.endsWith(".jsonl"))
    .reduce((sum, name) => sum + readFileSync(join(dir, name), "utf8").split("\n").filter(Boolean).length, 0);
}

async function metric(adminPort: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? Number.NaN);
}

describe("two ingests behind one port, one SPOOL_DIR", () => {
  it("one SIGKILLed with a full spool while Redis is down: the survivor adopts its spool, and every acknowledged callback lands once", async () => {
    const redis = await TestRedisServer.reserve();
    const prefix = uniquePrefix();
    const spoolDir = scratchDir("two-ingests");
    const shared = { REDIS_URL: redis.url, QUEUE_PREFIX: prefix, SPOOL_DIR: spoolDir };
    const started: RunningApp[] = [];
    let proxy: RoundRobinProxy | undefined;
    try {
      const survivor = await startIngest({ ...shared, INGEST_INSTANCE: "ingest-a" });
      started.push(survivor.app);
      const doomed = await startIngest({ ...shared, INGEST_INSTANCE: "ingest-b" });
      started.push(doomed.app);
      proxy = await RoundRobinProxy.start([survivor.port, doomed.port]);

      const postStartedMs = Date.now();
      const acked = await post(proxy.port, callbacks(0, 3000));
      const postedS = (Date.now() - postStartedMs) / 1000;
      const doomedDir = join(spoolDir, "ingest-b");
      const spooled = { survivor: spooledIn(join(spoolDir, "ingest-a")), doomed: spooledIn(doomedDir) };
      await doomed.app.stop("SIGKILL");
      // Through the one port while one upstream is dead: only what the survivor answered counts.
      const afterKill = await post(proxy.port, callbacks(3000, 500));
      acked.push(...afterKill);

      const redisBackMs = Date.now();
      await redis.restart();
      started.push(startApp("worker", { REDIS_URL: redis.url, QUEUE_PREFIX: prefix, DATABASE_URL: db.url }));
      const adoptedAfterS = await waitFor(
        "the dead ingest's directory adopted and removed",
        () => !existsSync(doomedDir) && (Date.now() - redisBackMs) / 1000,
        { timeoutMs: 30_000, intervalMs: 100 },
      ).catch(() => "never");
      const expected = expectedState(acked);
      const stored = await waitFor(
        "every acknowledged callback in Postgres",
        async () => {
          const comparison = await compareWithDatabase(db.url, expected);
          return comparison.lost === 0 && comparison;
        },
        { timeoutMs: 30_000, intervalMs: 250 },
      ).catch(() => compareWithDatabase(db.url, expected));
      const landedAfterS = (Date.now() - redisBackMs) / 1000;
      console.log(
        JSON.stringify({
          posted: 3500,
          acked: acked.length,
          ackedAfterKill: afterKill.length,
          spooledBeforeKill: spooled,
          connections: proxy.connections,
          postedS,
          adoptedAfterS,
          landedAfterS,
          ...stored,
        }),
      );

      expect(acked.length - afterKill.length).toBe(3000);
      expect(spooled.doomed).toBeGreaterThan(1000);
      expect(spooled.survivor + spooled.doomed).toBe(3000);
      expect(stored).toMatchObject({ lost: 0, wrong: 0, extra: 0 });
      expect(typeof adoptedAfterS).toBe("number");
      expect(spooledIn(join(spoolDir, "ingest-a"))).toBe(0);
      expect(await metric(survivor.adminPort, "receipt_sync_spool_orphans_adopted_total")).toBe(1);
    } finally {
      await proxy?.close();
      await Promise.all(started.map((app) => app.stop()));
      await redis.kill();
    }
  }, 90_000);
});
