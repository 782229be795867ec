import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  APP_ID,
  callbackQuery,
  FakeTencent,
  freePort,
  query,
  readCopy,
  REPO_ROOT,
  rng,
  seedFake,
  type Stack,
  startApp,
  startStack,
  TEST_REDIS_URL,
  waitFor,
} from "@receipt-sync/testing";

/**
 * Tencent (the fake) holds the truth for 50 groups and 500 messages with receipts. Only some
 * of their callbacks reach the real ingest and worker: some dropped, some twice, some out of
 * order. One reconcile pass must make every table equal the truth; a second must change nothing.
 */
const KEY = "e2e-secret-key-0123456789abcdef";
const BUDGET = 50;

let stack: Stack;
let fake: FakeTencent;
let reconcilerEnv: Record<string, string>;

type Report = {
  checked: number;
  differences: { groupId: string; msgSeq: number; differences: string[]; repaired: boolean }[];
  repaired: number;
  skips: unknown[];
  calls: Record<string, number>;
  durationMs: number;
  stopped?: unknown;
};

function reconcile(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // Not spawnSync: the fake answers from this very process.
    const child = spawn(process.execPath, ["apps/reconciler/dist/reconcile-cli.js", ...args], {
      cwd: REPO_ROOT,
      env: reconcilerEnv,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("exit", (status) => resolve({ status, stdout, stderr }));
  });
}

async function auditRows(): Promise<number> {
  const [row] = await query<{ n: number }>(stack.db.url, "SELECT count(*)::int AS n FROM reconcile_repairs");
  return row!.n;
}

/** Posts each callback as Tencent would, `inFlight` at a time, and returns how many distinct events were delivered. */
async function deliver(callbacks: Record<string, unknown>[]): Promise<number> {
  const random = rng(99);
  const delivered: Record<string, unknown>[] = [];
  for (const callback of callbacks) {
    if (random() < 0.25) continue; // lost
    delivered.push(callback);
    if (random() < 0.1) delivered.push(callback); // a retry: the same callback again
  }
  for (let i = 0; i < delivered.length; i++) {
    if (random() < 0.2) {
      // Out of order: swapped with one up to 20 places later.
      const j = Math.min(delivered.length - 1, i + 1 + Math.floor(random() * 20));
      [delivered[i], delivered[j]] = [delivered[j]!, delivered[i]!];
    }
  }
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < delivered.length) {
        const body = delivered[next++]!;
        const res = await fetch(`${stack.base}/callback?${callbackQuery()}`, {
          method: "POST",
          body: JSON.stringify(body),
        });
        expect(res.status).toBe(200);
      }
    }),
  );
  const events = new Set(
    delivered.flatMap((c) =>
      (c.GroupMsgReceiptList as { MsgSeq: number }[]).map(
        (m) => `${String(c.GroupId)} ${m.MsgSeq} ${String(c.EventTime)}`,
      ),
    ),
  );
  return events.size;
}

beforeAll(async () => {
  fake = await FakeTencent.start({ apps: { [APP_ID]: KEY } });
  const { callbacks } = seedFake(fake, {
    sdkAppId: APP_ID,
    groups: 50,
    messagesPerGroup: 10,
    startMs: Date.now() - 12 * 3600_000,
    seed: 2026,
  });
  stack = await startStack();
  const events = await deliver(callbacks);
  await waitFor(
    "every delivered callback in the ledger",
    async () =>
      (await query<{ n: number }>(stack.db.url, "SELECT count(*)::int AS n FROM read_receipt_events"))[0]!.n === events,
    { timeoutMs: 30_000, intervalMs: 100 },
  );
  reconcilerEnv = {
    PATH: process.env.PATH ?? "",
    DATABASE_URL: stack.db.url,
    TENCENT_SECRET_KEYS: `${APP_ID}:${KEY}`,
    TENCENT_API_HOST: fake.url,
    TENCENT_CALLS_PER_SECOND: String(BUDGET),
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: stack.prefix,
  };
}, 120_000);
afterAll(async () => {
  await stack?.stop();
  await fake?.close();
});

describe("reconciling with Tencent, end to end", () => {
  it("starts from a copy that lost callbacks", async () => {
    expect(fake.truth(APP_ID)).toHaveLength(500);
    expect(await readCopy(stack.db.url, APP_ID)).not.toEqual(fake.truth(APP_ID));
  });

  it("shows what differs in a dry run, and changes nothing", async () => {
    const before = await readCopy(stack.db.url, APP_ID);
    const { status, stdout } = await reconcile(["--app", APP_ID, "--dry-run"]);
    expect(status).toBe(0);
    expect(stdout).toContain("would repair");
    expect(stdout).toMatch(/500 messages checked, [1-9][0-9]* differ, nothing changed \(dry run\)/);
    expect(await readCopy(stack.db.url, APP_ID)).toEqual(before);
    expect(await auditRows()).toBe(0);
  }, 60_000);

  it("makes every table equal Tencent's truth after one pass, message by message, and audits each repair", async () => {
    const { status, stdout } = await reconcile(["--app", APP_ID, "--json"]);
    expect(status).toBe(0);
    const report = JSON.parse(stdout) as Report;
    expect(report.stopped).toBeUndefined();
    expect(report.checked).toBe(500);
    expect(report.repaired).toBe(report.differences.length);
    expect(await readCopy(stack.db.url, APP_ID)).toEqual(fake.truth(APP_ID));
    expect(await auditRows()).toBe(report.repaired);
    expect(fake.exceeded(BUDGET)).toEqual([]);
  }, 120_000);

  it("changes nothing and records no repairs in a second pass, made by the reconciler service", async () => {
    const audited = await auditRows();
    const port = await freePort();
    const service = startApp("reconciler", {
      ...reconcilerEnv,
      SDKAPPID: APP_ID,
      METRICS_PORT: String(port),
      LOG_LEVEL: "info",
    });
    try {
      const line = await waitFor(
        "the service's first pass",
        () =>
          service
            .output()
            .split("\n")
            .find((l) => l.includes('"pass completed"')),
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      expect(JSON.parse(line)).toMatchObject({
        sdkAppId: APP_ID,
        checked: 500,
        differences: 0,
        repaired: 0,
        skipped: 0,
      });
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toContain(`receipt_sync_reconcile_passes_total{sdk_app_id="${APP_ID}",result="completed"} 1`);
      expect(metrics).toContain(`receipt_sync_reconcile_repairs_total{sdk_app_id="${APP_ID}"} 0`);
      expect(metrics).not.toContain("receipt_sync_reconcile_differences_total{");
      expect(await auditRows()).toBe(audited);
      expect(await readCopy(stack.db.url, APP_ID)).toEqual(fake.truth(APP_ID));
      expect(fake.exceeded(BUDGET)).toEqual([]);
      expect(service.output()).not.toContain(KEY);
    } finally {
      expect(await service.stop()).toBe(0);
    }
  }, 90_000);

  it("checks one message by hand with two calls, and explains bad arguments", async () => {
    const [message] = fake.truth(APP_ID);
    const { status, stdout } = await reconcile([
      "--app",
      APP_ID,
      "--group",
      message!.groupId,
      "--seq",
      String(message!.msgSeq),
      "--json",
    ]);
    expect(status).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({
      checked: 1,
      differences: [],
      calls: { get_group_info: 1, get_group_msg_receipt: 1 },
    });
    expect(await reconcile(["--app", APP_ID, "--seq", "1"])).toMatchObject({
      status: 2,
      stderr: expect.stringContaining("--seq needs --group"),
    });
    expect(await reconcile(["--app", APP_ID, "--since", "soon"])).toMatchObject({
      status: 2,
      stderr: expect.stringContaining("--since must be a duration"),
    });
  }, 60_000);
});
