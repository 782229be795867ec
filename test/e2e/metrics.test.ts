import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  callbackQuery,
  freePort,
  query,
  receiptBody,
  type Stack,
  startStack,
  type TestDatabase,
  waitFor,
  waitForHttp,
} from "@receipt-sync/testing";

/** Scrapes both apps' /metrics (the ingest's on its admin port) after real traffic and checks the counters moved as they should. */
let stack: Stack;
let db: TestDatabase;
let base: string;
let workerMetricsUrl: string;
let ingestMetricsUrl: string;

beforeAll(async () => {
  const [metricsPort, adminPort] = [await freePort(), await freePort()];
  workerMetricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  ingestMetricsUrl = `http://127.0.0.1:${adminPort}/metrics`;
  stack = await startStack({
    workerEnv: { METRICS_PORT: String(metricsPort) },
    ingestEnv: { ADMIN_PORT: String(adminPort) },
  });
  ({ db, base } = stack);
  await waitForHttp(workerMetricsUrl);
});
afterAll(() => stack?.stop());

/** The value of one sample, e.g. sample(text, 'receipt_sync_callbacks_total{command="read_receipt",outcome="accepted"}'). */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const post = (body: unknown, q = callbackQuery()) =>
  fetch(`${base}/callback?${q}`, { method: "POST", body: typeof body === "string" ? body : JSON.stringify(body) });

describe("metrics", () => {
  it("count callbacks by command and outcome, time replies and stores, and show the spool", async () => {
    const nowMs = Date.now();
    for (let i = 0; i < 3; i++) {
      expect(
        (
          await post(
            receiptBody({
              groupId: "metrics",
              eventTimeMs: nowMs - 1000 + i,
              messages: [{ seq: i, read: 1, unread: 0 }],
            }),
          )
        ).status,
      ).toBe(200);
    }
    expect((await post("{oops")).status).toBe(400);
    expect(
      (await post({ GroupId: "x" }, callbackQuery({ CallbackCommand: "Group.CallbackBeforeSendMsg" }))).status,
    ).toBe(200);
    expect(
      (await post(receiptBody({ eventTimeMs: 1, messages: [] }), callbackQuery({ SdkAppid: "1400000002" }))).status,
    ).toBe(403);

    const res = await fetch(ingestMetricsUrl);
    expect(res.headers.get("content-type")).toContain("text/plain");
    const text = await res.text();
    expect(sample(text, 'receipt_sync_callbacks_total{command="read_receipt",outcome="accepted"}')).toBe(3);
    expect(sample(text, 'receipt_sync_callbacks_total{command="read_receipt",outcome="invalid"}')).toBe(1);
    expect(sample(text, 'receipt_sync_callbacks_total{command="read_receipt",outcome="forbidden"}')).toBe(1);
    expect(sample(text, 'receipt_sync_callbacks_total{command="other",outcome="ignored"}')).toBe(1);
    expect(sample(text, 'receipt_sync_reply_duration_seconds_count{outcome="accepted"}')).toBe(3);
    expect(sample(text, 'receipt_sync_enqueue_duration_seconds_count{stored_in="queue"}')).toBe(3);
    expect(sample(text, "receipt_sync_spool_depth")).toBe(0);
    expect(sample(text, "process_resident_memory_bytes")).toBeGreaterThan(0);
  });

  it("log one JSON line per rejected callback with its reason, and never a body or a Sign", async () => {
    const secret = "GroupIdThatMustNotBeLogged";
    const signed = callbackQuery({ SdkAppid: "1400000003", Sign: "f".repeat(64), RequestTime: "1" });
    expect((await post(receiptBody({ groupId: secret, eventTimeMs: 1, messages: [] }), signed)).status).toBe(403);
    const lines = await waitFor("the rejection's log line", () => {
      const rejected = stack.ingest
        .output()
        .split("\n")
        .filter((l) => l.includes("callback rejected"));
      return rejected.some((l) => l.includes("1400000003")) && rejected;
    });
    for (const line of lines) {
      const entry = JSON.parse(line) as { level: number; outcome: string; reason: string };
      expect(entry.level).toBe(40);
      expect(entry.reason.length).toBeGreaterThan(0);
    }
    expect(stack.ingest.output()).not.toContain(secret);
    expect(stack.ingest.output()).not.toContain("f".repeat(64));
  });

  it("count the worker's jobs, batch sizes, write times, lag and queue depth", async () => {
    await waitFor(
      "rows",
      async () => (await query(db.url, "SELECT 1 FROM group_message_receipts WHERE group_id = 'metrics'")).length === 3,
    );
    const text = await waitFor("worker counters", async () => {
      const scraped = await (await fetch(workerMetricsUrl)).text();
      return (sample(scraped, "receipt_sync_end_to_end_lag_seconds_count") ?? 0) >= 3 && scraped;
    });
    expect(sample(text, 'receipt_sync_jobs_total{result="completed"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, "receipt_sync_batch_packets_sum")).toBe(3);
    expect(sample(text, 'receipt_sync_db_write_duration_seconds_count{result="ok"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, "receipt_sync_end_to_end_lag_seconds_count")).toBe(3);
    // The three events were 1 s old when posted: the lag histogram has them above 0.5 s.
    expect(sample(text, 'receipt_sync_end_to_end_lag_seconds_bucket{le="0.5"}')).toBe(0);
    expect(sample(text, 'receipt_sync_queue_jobs{state="waiting"}')).toBe(0);
    expect(sample(text, 'receipt_sync_queue_jobs{state="failed"}')).toBe(0);
    expect((await fetch(workerMetricsUrl.replace("/metrics", "/other"))).status).toBe(404);
  });
});
