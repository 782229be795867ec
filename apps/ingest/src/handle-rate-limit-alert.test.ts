import { rateLimitAlertKey } from "@receipt-sync/queue";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  APP_ID,
  callbackQuery,
  dropQueue,
  openQueue,
  scratchDir,
  TEST_REDIS_URL,
  uniquePrefix,
  waitFor,
} from "@receipt-sync/testing";
import { startIngest, type Ingest } from "./start-ingest.js";
import { loadConfig } from "./load-config.js";

const OK = { ActionStatus: "OK", ErrorInfo: "", ErrorCode: 0 };
const ALERT = "Alert.RequestOverLimit";
const body = {
  CallbackCommand: ALERT,
  ServiceName: "openim",
  Command: "get_group_msg_receipt",
  Request: 170,
  Limit: 200,
};

let ingest: Ingest;
let prefix: string;
let redis: Redis;
let base: string;
let adminBase: string;

beforeAll(async () => {
  prefix = uniquePrefix();
  const config = loadConfig({
    SDKAPPID: APP_ID,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: prefix,
    LOG_LEVEL: "silent",
    SPOOL_DIR: scratchDir("spool"),
  });
  ingest = await startIngest({ ...config, port: 0, adminPort: 0 });
  base = `http://127.0.0.1:${ingest.port}`;
  adminBase = `http://127.0.0.1:${ingest.adminPort}`;
  redis = new Redis(TEST_REDIS_URL);
  // The ingest's Redis client fails fast rather than queueing, so wait until it is connected.
  await waitFor(
    "ingest ready",
    async () => ((await (await fetch(`${base}/readyz`)).json()) as { status: string }).status === "ready",
  );
});
afterAll(async () => {
  await ingest?.shutdown();
  await dropQueue(openQueue(prefix));
  await redis?.del(rateLimitAlertKey(prefix, APP_ID));
  redis?.disconnect();
});

const post = async (query: string, payload: unknown) => {
  const res = await fetch(`${base}/callback?${query}`, { method: "POST", body: JSON.stringify(payload) });
  return { status: res.status, body: (await res.json()) as unknown };
};

describe("Alert.RequestOverLimit at the ingest", () => {
  it("is answered OK and tells the reconciler, through a Redis key that expires, to slow down", async () => {
    expect(await post(callbackQuery({ CallbackCommand: ALERT }), body)).toEqual({ status: 200, body: OK });
    const key = rateLimitAlertKey(prefix, APP_ID);
    expect(await redis.get(key)).toBe("get_group_msg_receipt: 170 calls/s, limit 200");
    const ttlMs = await redis.pttl(key);
    expect(ttlMs).toBeGreaterThan(60_000);
    expect(ttlMs).toBeLessThanOrEqual(5 * 60_000);
  });

  it("counts the alert in the callbacks metric under its own command", async () => {
    const text = await (await fetch(`${adminBase}/metrics`)).text();
    expect(text).toContain('receipt_sync_callbacks_total{command="request_over_limit",outcome="alert"} 1');
  });

  it("passes on an alert whose body is not the documented shape, and refuses one for a foreign app", async () => {
    await redis.del(rateLimitAlertKey(prefix, APP_ID));
    expect(await post(callbackQuery({ CallbackCommand: ALERT }), { CallbackCommand: ALERT, Request: "lots" })).toEqual({
      status: 200,
      body: OK,
    });
    expect(await redis.exists(rateLimitAlertKey(prefix, APP_ID))).toBe(1);
    expect((await post(callbackQuery({ CallbackCommand: ALERT, SdkAppid: "1400000002" }), body)).status).toBe(403);
    expect(await redis.exists(rateLimitAlertKey(prefix, "1400000002"))).toBe(0);
  });
});
