import { rateLimitAlertKey } from "@receipt-sync/queue";
import { createLogger } from "@receipt-sync/runtime";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createTestDatabase,
  FakeTencent,
  freePort,
  query,
  readCopy,
  seedFake,
  TEST_REDIS_URL,
  type TestDatabase,
  uniquePrefix,
  waitFor,
} from "@receipt-sync/testing";
import { startReconciler, type Reconciler } from "./start-reconciler.js";
import { loadConfig } from "./load-config.js";

const APP = "1400000077";
const KEY = "service-test-key";

let testDb: TestDatabase;
let fake: FakeTencent;
let redis: Redis;
let reconciler: Reconciler | undefined;
let metricsUrl: string;
const prefix = uniquePrefix();

beforeAll(async () => {
  testDb = await createTestDatabase();
  fake = await FakeTencent.start({ apps: { [APP]: KEY } });
  seedFake(fake, { sdkAppId: APP, groups: 3, messagesPerGroup: 4, startMs: Date.now() - 3600_000, seed: 3 });
  redis = new Redis(TEST_REDIS_URL);
  // One stale row per group, so every group is active: the reconciler finds the rest.
  for (const groupId of ["@TGS#fake0", "@TGS#fake1", "@TGS#fake2"]) {
    const first = fake.truth(APP).find((m) => m.groupId === groupId)!;
    await query(
      testDb.url,
      `INSERT INTO group_message_receipts VALUES ($1, $2, $3, 'Public', 0, 0, now() - interval '1 hour', now())`,
      [APP, groupId, first.msgSeq],
    );
  }
});
afterAll(async () => {
  await reconciler?.shutdown();
  await redis.del(rateLimitAlertKey(prefix, APP));
  redis.disconnect();
  await fake.close();
  await testDb.drop();
});

async function scrape(): Promise<string> {
  return (await fetch(metricsUrl)).text();
}

function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("the reconciler service", () => {
  it("runs a pass at start at a quarter of its budget while Tencent's over-limit alert is in force, then returns to the full budget", async () => {
    await redis.set(rateLimitAlertKey(prefix, APP), "batchsendmsg: 170 calls/s, limit 200", "PX", 60_000);
    const port = await freePort();
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
    const config = loadConfig({
      DATABASE_URL: testDb.url,
      TENCENT_SECRET_KEYS: `${APP}:${KEY}`,
      TENCENT_API_HOST: fake.url,
      TENCENT_CALLS_PER_SECOND: "40",
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: prefix,
      METRICS_PORT: String(port),
      RECONCILE_INTERVAL_MS: "3600000",
    });
    reconciler = await startReconciler(config, createLogger({ name: "reconciler", level: "silent" }), {
      alertPollMs: 50,
    });
    const text = await waitFor("a completed pass", async () => {
      const scraped = await scrape();
      return (
        sample(scraped, `receipt_sync_reconcile_passes_total{sdk_app_id="${APP}",result="completed"}`) === 1 && scraped
      );
    });
    expect(sample(text, `receipt_sync_reconcile_call_rate{sdk_app_id="${APP}"}`)).toBe(10);
    expect(fake.exceeded(10)).toEqual([]);
    expect(await readCopy(testDb.url, APP)).toEqual(fake.truth(APP));

    await redis.del(rateLimitAlertKey(prefix, APP));
    await waitFor(
      "the full budget",
      async () => sample(await scrape(), `receipt_sync_reconcile_call_rate{sdk_app_id="${APP}"}`) === 40,
    );
  });

  it("exports what it checked, found, repaired and called", async () => {
    const text = await scrape();
    const repaired = sample(text, `receipt_sync_reconcile_repairs_total{sdk_app_id="${APP}"}`)!;
    expect(repaired).toBeGreaterThan(0);
    expect(sample(text, `receipt_sync_reconcile_messages_checked_total{sdk_app_id="${APP}"}`)).toBe(
      fake.truth(APP).length,
    );
    expect(
      sample(text, `receipt_sync_reconcile_differences_total{sdk_app_id="${APP}",difference="missing"}`),
    ).toBeGreaterThan(0);
    expect(sample(text, `receipt_sync_reconcile_api_calls_total{api="get_group_msg_receipt"}`)).toBeGreaterThan(0);
    const [audit] = await query<{ n: number }>(testDb.url, "SELECT count(*)::int AS n FROM reconcile_repairs");
    expect(audit!.n).toBe(repaired);
  });

  it("shuts down cleanly", async () => {
    expect(await reconciler!.shutdown()).toBe(true);
    reconciler = undefined;
  });
});
