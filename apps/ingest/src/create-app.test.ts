import { computeSign } from "@receipt-sync/protocol";
import type { Queue } from "bullmq";
import type { ReceiptJobData } from "@receipt-sync/queue";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  APP_ID,
  callbackQuery,
  dropQueue,
  openQueue,
  queuedPackets,
  receiptBody,
  scratchDir,
  TEST_REDIS_URL,
  uniquePrefix,
  waitFor,
} from "@receipt-sync/testing";
import { loadConfig, type IngestConfig } from "./load-config.js";
import { startIngest, type Ingest } from "./start-ingest.js";
import { createApp } from "./create-app.js";
import { createIngestMetrics } from "./ingest-metrics.js";
import type { StoredIn } from "./durable-store.js";
import { MeteredStore } from "./metered-store.js";
import { createLogger } from "@receipt-sync/runtime";
import type { Server } from "node:http";

const TOKEN = "test-token";
const OK = { ActionStatus: "OK", ErrorInfo: "", ErrorCode: 0 };

/** The config `env` gives, on ports the kernel picks (an ADMIN_PORT in `env` only switches the admin listener on). */
function configFor(env: Record<string, string>): IngestConfig {
  const spoolDir = scratchDir("spool");
  const config = loadConfig({
    SDKAPPID: `${APP_ID},1400000009`,
    REDIS_URL: TEST_REDIS_URL,
    LOG_LEVEL: "silent",
    SPOOL_DIR: spoolDir,
    ...env,
  });
  return { ...config, port: 0, adminPort: config.adminPort === undefined ? undefined : 0 };
}

type Started = { ingest: Ingest; queue: Queue<ReceiptJobData>; url: string; adminUrl: string };

async function start(env: Record<string, string> = {}): Promise<Started> {
  const prefix = uniquePrefix();
  const ingest = await startIngest(configFor({ QUEUE_PREFIX: prefix, BODY_LIMIT_BYTES: "4096", ...env }));
  return {
    ingest,
    queue: openQueue(prefix),
    url: `http://127.0.0.1:${ingest.port}`,
    adminUrl: `http://127.0.0.1:${ingest.adminPort}`,
  };
}

async function stop(started: Started | undefined): Promise<void> {
  if (!started) return;
  await started.ingest.shutdown();
  await dropQueue(started.queue);
}

async function post(
  base: string,
  query: string,
  body: string | Buffer | object,
  path = "/callback",
  headers: Record<string, string> = {},
) {
  const payload = typeof body === "string" || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  const res = await fetch(`${base}${path}?${query}`, {
    method: "POST",
    body: payload,
    headers: { "content-type": "application/json", ...headers },
  });
  return {
    status: res.status,
    body: (await res.json()) as { ActionStatus: string; ErrorCode: number; ErrorInfo: string },
  };
}

const valid = receiptBody({
  eventTimeMs: "1670574414123",
  messages: [{ seq: 1, read: 1, unread: 6, readers: ["user0"] }],
});

describe("ingest without a callback token", () => {
  let s: Started;
  beforeAll(async () => {
    s = await start();
  });
  afterAll(() => stop(s));

  it("acknowledges a valid read receipt only once it is in the queue", async () => {
    const before = (await queuedPackets(s.queue)).length;
    expect(await post(s.url, callbackQuery(), valid)).toEqual({ status: 200, body: OK });
    const packets = await queuedPackets(s.queue);
    expect(packets).toHaveLength(before + 1);
    expect(packets.at(-1)).toMatchObject({
      sdkAppId: APP_ID,
      clientIp: "203.0.113.7",
      optPlatform: "iOS",
      receipt: {
        GroupId: "@TGS#2TTV7VSII",
        EventTime: 1670574414123,
        GroupMsgReceiptList: [{ MsgSeq: 1, ReadReceiptMembers: [{ Member_Account: "user0" }] }],
      },
    });
  });

  it("accepts EventTime as a number too", async () => {
    expect(await post(s.url, callbackQuery(), { ...valid, EventTime: 1670574414124 })).toEqual({
      status: 200,
      body: OK,
    });
    expect((await queuedPackets(s.queue)).at(-1)?.receipt.EventTime).toBe(1670574414124);
  });

  it("answers OK to other callbacks and stores nothing", async () => {
    const before = (await queuedPackets(s.queue)).length;
    const beforeSend = { CallbackCommand: "Group.CallbackBeforeSendMsg", GroupId: "g", MsgBody: [] };
    expect(await post(s.url, callbackQuery({ CallbackCommand: "Group.CallbackBeforeSendMsg" }), beforeSend)).toEqual({
      status: 200,
      body: OK,
    });
    expect(await post(s.url, callbackQuery({ CallbackCommand: "C2C.CallbackAfterSendMsg" }), "not even json")).toEqual({
      status: 200,
      body: OK,
    });
    const noQueryCommand = new URLSearchParams({ SdkAppid: APP_ID }).toString();
    expect(await post(s.url, noQueryCommand, beforeSend)).toEqual({ status: 200, body: OK });
    expect(await queuedPackets(s.queue)).toHaveLength(before);
  });

  it.each([
    ["an SdkAppid of another app", callbackQuery({ SdkAppid: "1400000002" }), valid, 403, 40300, "SdkAppid 1400000002"],
    [
      "a missing SdkAppid",
      "CallbackCommand=Group.CallbackAfterReadReceipt",
      valid,
      400,
      40000,
      "missing query parameter SdkAppid",
    ],
    ["a repeated SdkAppid", `${callbackQuery()}&SdkAppid=1400000009`, valid, 400, 40000, "SdkAppid must appear once"],
    ["a body that is not JSON", callbackQuery(), '{"CallbackCommand":', 400, 40000, "not valid JSON"],
    ["an empty body", callbackQuery(), "", 400, 40000, "body"],
    [
      "a schema violation",
      callbackQuery(),
      { ...valid, GroupMsgReceiptList: [{ MsgSeq: -1, ReadNum: 0, UnreadNum: 0 }] },
      400,
      40000,
      "GroupMsgReceiptList.0.MsgSeq",
    ],
    [
      "a body command that differs from the query",
      callbackQuery(),
      { ...valid, CallbackCommand: "Group.CallbackAfterSendMsg" },
      400,
      40000,
      "CallbackCommand",
    ],
    [
      "a body over the limit",
      callbackQuery(),
      { ...valid, padding: "x".repeat(5000) },
      413,
      41300,
      "exceeds the limit",
    ],
  ])("rejects %s with a clear error and stores nothing", async (_name, query, body, status, code, info) => {
    const before = (await queuedPackets(s.queue)).length;
    const reply = await post(s.url, query, body);
    expect(reply.status).toBe(status);
    expect(reply.body).toMatchObject({ ActionStatus: "FAIL", ErrorCode: code });
    expect(reply.body.ErrorInfo).toContain(info);
    expect(await queuedPackets(s.queue)).toHaveLength(before);
  });

  it("rejects invalid UTF-8 instead of storing mangled names", async () => {
    const json = Buffer.from(
      JSON.stringify(receiptBody({ eventTimeMs: 1, messages: [{ seq: 1, read: 1, unread: 0, readers: ["AB"] }] })),
    );
    const at = json.indexOf("AB");
    json[at] = 0xc3; // a lead byte followed by "B" is not UTF-8
    const reply = await post(s.url, callbackQuery(), json);
    expect(reply).toMatchObject({ status: 400, body: { ActionStatus: "FAIL", ErrorInfo: "body is not valid UTF-8" } });
  });

  it("answers wrong methods and unknown paths with JSON, never an HTML page", async () => {
    const get = await fetch(`${s.url}/callback?${callbackQuery()}`);
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
    expect(await get.json()).toMatchObject({ ActionStatus: "FAIL", ErrorCode: 40500 });
    const put = await fetch(`${s.url}/callback`, { method: "PUT", body: "{}" });
    expect(put.status).toBe(405);
    const unknown = await fetch(`${s.url}/nowhere`, { method: "POST", body: "{}" });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ ActionStatus: "FAIL", ErrorCode: 40400 });
  });

  it("reports health, and readiness without the detail, on the webhook port", async () => {
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${s.url}/readyz`);
    expect({ status: ready.status, body: await ready.json() }).toEqual({ status: 200, body: { status: "ready" } });
  });

  it("serves nothing of the admin surface on the webhook port", async () => {
    for (const path of ["/admin/queues", "/metrics"]) {
      const res = await fetch(`${s.url}${path}`);
      expect({ path, status: res.status, body: await res.json() }).toMatchObject({
        path,
        status: 404,
        body: { ActionStatus: "FAIL", ErrorCode: 40400 },
      });
    }
  });
});

describe("ingest on a custom CALLBACK_PATH", () => {
  let s: Started;
  beforeAll(async () => {
    s = await start({ CALLBACK_PATH: "/tencent/im-callback" });
  });
  afterAll(() => stop(s));

  it("takes callbacks on that path only", async () => {
    expect(await post(s.url, callbackQuery(), valid, "/tencent/im-callback")).toEqual({ status: 200, body: OK });
    expect((await post(s.url, callbackQuery(), valid, "/callback")).status).toBe(404);
    expect(await queuedPackets(s.queue)).toHaveLength(1);
  });
});

describe("the admin listener", () => {
  let s: Started;
  let withoutAdmin: Started;
  let metricsOnly: Started;
  beforeAll(async () => {
    s = await start({ ADMIN_PORT: "1", ADMIN_USER: "ops", ADMIN_PASSWORD: "pässword" });
    withoutAdmin = await start();
    metricsOnly = await start({ ADMIN_PORT: "1" });
  });
  afterAll(async () => {
    await stop(s);
    await stop(withoutAdmin);
    await stop(metricsOnly);
  });
  const basic = (credentials: string) => ({ authorization: `Basic ${Buffer.from(credentials).toString("base64")}` });

  it("serves Bull Board on its own port: asks for credentials, refuses wrong ones, shows the queue with the right ones", async () => {
    expect(s.ingest.adminPort).not.toBe(s.ingest.port);
    const anonymous = await fetch(`${s.adminUrl}/admin/queues`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toContain("Basic");
    expect((await fetch(`${s.adminUrl}/admin/queues`, { headers: basic("ops:wrong") })).status).toBe(401);
    expect((await fetch(`${s.adminUrl}/admin/queues`, { headers: basic("ops") })).status).toBe(401);
    const page = await fetch(`${s.adminUrl}/admin/queues`, { headers: basic("ops:pässword") });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("<html");
    const api = await fetch(`${s.adminUrl}/admin/queues/api/queues`, { headers: basic("ops:pässword") });
    expect(api.status).toBe(200);
    expect(JSON.stringify(await api.json())).toContain("read-receipts");
  });

  it("never serves Bull Board on the webhook port, even with the right credentials", async () => {
    const res = await fetch(`${s.url}/admin/queues`, { headers: basic("ops:pässword") });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ ActionStatus: "FAIL", ErrorCode: 40400 });
  });

  it("serves /metrics and the readiness detail, with or without Bull Board", async () => {
    for (const admin of [s.adminUrl, metricsOnly.adminUrl]) {
      const metrics = await fetch(`${admin}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain("receipt_sync_spool_depth");
      const ready = await fetch(`${admin}/readyz`);
      expect({ status: ready.status, body: await ready.json() }).toEqual({
        status: 200,
        body: { status: "ready", queue: "ok", breaker: "closed", spooled: 0 },
      });
    }
    expect((await fetch(`${metricsOnly.adminUrl}/admin/queues`, { headers: basic("ops:pässword") })).status).toBe(404);
  });

  it("does not exist without ADMIN_PORT", () => {
    expect(withoutAdmin.ingest.adminPort).toBeUndefined();
  });
});

describe("the source allowlist", () => {
  let direct: Started;
  let proxied: Started;
  beforeAll(async () => {
    direct = await start({ ALLOWED_SOURCE_CIDRS: "203.0.113.0/24, 127.0.0.0/8" });
    proxied = await start({ ALLOWED_SOURCE_CIDRS: "203.0.113.0/24,2001:db8::/32", TRUST_PROXY: "1" });
  });
  afterAll(async () => {
    await stop(direct);
    await stop(proxied);
  });
  const forwardedFor = (chain: string) => ({ "x-forwarded-for": chain });

  it("stores a callback from inside the list", async () => {
    expect(await post(direct.url, callbackQuery(), valid)).toEqual({ status: 200, body: OK });
    expect(await queuedPackets(direct.queue)).toHaveLength(1);
  });

  it("answers 403 to a caller outside the list before reading the body, and stores nothing", async () => {
    const reply = await post(proxied.url, callbackQuery(), { ...valid, padding: "x".repeat(5000) }); // over the limit: never read
    expect(reply).toMatchObject({ status: 403, body: { ActionStatus: "FAIL", ErrorCode: 40300 } });
    expect(reply.body.ErrorInfo).toContain("127.0.0.1 is not in ALLOWED_SOURCE_CIDRS");
    expect(await queuedPackets(proxied.queue)).toHaveLength(0);
  });

  it("behind TRUST_PROXY hops, judges the address the proxy forwarded, not the proxy's", async () => {
    expect(await post(proxied.url, callbackQuery(), valid, "/callback", forwardedFor("203.0.113.9"))).toEqual({
      status: 200,
      body: OK,
    });
    expect(await post(proxied.url, callbackQuery(), valid, "/callback", forwardedFor("2001:db8::7"))).toEqual({
      status: 200,
      body: OK,
    });
    expect((await post(proxied.url, callbackQuery(), valid, "/callback", forwardedFor("198.51.100.1"))).status).toBe(
      403,
    );
    // The caller writes the leftmost entries itself: only the one hop we trust is believed.
    expect(
      (await post(proxied.url, callbackQuery(), valid, "/callback", forwardedFor("203.0.113.9, 198.51.100.1"))).status,
    ).toBe(403);
    expect(await queuedPackets(proxied.queue)).toHaveLength(2);
  });

  it("does not believe X-Forwarded-For without TRUST_PROXY", async () => {
    const before = (await queuedPackets(direct.queue)).length;
    expect((await post(direct.url, callbackQuery(), valid, "/callback", forwardedFor("198.51.100.1"))).status).toBe(
      200,
    ); // judged by 127.0.0.1
    expect(await queuedPackets(direct.queue)).toHaveLength(before + 1);
  });
});

describe("ingest with a callback token", () => {
  let s: Started;
  beforeAll(async () => {
    s = await start({ CALLBACK_TOKEN: TOKEN });
  });
  afterAll(() => stop(s));

  const signed = (requestTimeSec: number, token = TOKEN) =>
    callbackQuery({ RequestTime: String(requestTimeSec), Sign: computeSign(token, String(requestTimeSec)) });
  const nowSec = () => Math.floor(Date.now() / 1000);

  it("accepts a correctly signed callback, and the same signed URL again within the window", async () => {
    const query = signed(nowSec());
    expect(await post(s.url, query, valid)).toEqual({ status: 200, body: OK });
    expect(await post(s.url, query, valid)).toEqual({ status: 200, body: OK });
  });

  it.each([
    ["a missing Sign", () => callbackQuery({ RequestTime: String(nowSec()) }), "missing Sign or RequestTime"],
    ["a Sign made with another token", () => signed(nowSec(), "not-the-token"), "Sign mismatch"],
    ["a stale RequestTime", () => signed(nowSec() - 120), "outside the allowed window"],
    ["a RequestTime from the future", () => signed(nowSec() + 120), "outside the allowed window"],
  ])("rejects %s with 401 and stores nothing", async (_name, query, info) => {
    const before = (await queuedPackets(s.queue)).length;
    const reply = await post(s.url, query(), valid);
    expect(reply).toMatchObject({ status: 401, body: { ActionStatus: "FAIL", ErrorCode: 40100 } });
    expect(reply.body.ErrorInfo).toContain(info);
    expect(await queuedPackets(s.queue)).toHaveLength(before);
  });

  it("checks the SdkAppid before the signature", async () => {
    expect((await post(s.url, callbackQuery({ SdkAppid: "1400000002" }), valid)).status).toBe(403);
  });
});

describe("ingest whose queue is unreachable and spool is full", () => {
  let ingest: Ingest;
  beforeAll(async () => {
    // Port 1 on loopback: nothing listens, so every connection attempt is refused at once.
    // A one-byte spool cannot take a packet either, so nothing can keep the callback.
    ingest = await startIngest(
      configFor({ REDIS_URL: "redis://127.0.0.1:1", ENQUEUE_TIMEOUT_MS: "300", SPOOL_MAX_BYTES: "1" }),
    );
  });
  afterAll(() => ingest.shutdown());

  it("answers 503 promptly instead of acknowledging what it could not keep", async () => {
    const startedMs = Date.now();
    const reply = await post(`http://127.0.0.1:${ingest.port}`, callbackQuery(), valid);
    expect(reply).toMatchObject({ status: 503, body: { ActionStatus: "FAIL", ErrorCode: 50300 } });
    expect(Date.now() - startedMs).toBeLessThan(2000);
    const ready = await fetch(`http://127.0.0.1:${ingest.port}/readyz`);
    expect(ready.status).toBe(503);
  });
});

describe("the in-flight cap", () => {
  it("answers 503 at once past MAX_IN_FLIGHT_REQUESTS callbacks being stored, and takes callbacks again once they are", async () => {
    // A store that keeps each callback until released: what piles up is what the cap bounds.
    const releases: (() => void)[] = [];
    const store = () => new Promise<StoredIn>((resolve) => releases.push(() => resolve("spool")));
    const { base, server } = await serveApp({ store, maxInFlightRequests: 2 });
    try {
      const held = [post(base, callbackQuery(), valid), post(base, callbackQuery(), valid)];
      await waitFor("two callbacks being stored", () => releases.length === 2);
      const refused = await post(base, callbackQuery(), valid);
      expect(refused).toMatchObject({
        status: 503,
        body: { ErrorCode: 50300, ErrorInfo: "overloaded: 2 callbacks in flight" },
      });
      for (const release of releases.splice(0)) release();
      expect((await Promise.all(held)).map((r) => r.status)).toEqual([200, 200]);
      const again = post(base, callbackQuery(), valid);
      await waitFor("the next callback being stored", () => releases.length === 1);
      releases[0]!();
      expect((await again).status).toBe(200);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe("a bug in the handler", () => {
  it("is answered 500 in Tencent's envelope, without the error's text", async () => {
    const { base, server } = await serveApp({
      nowMs: () => {
        throw new Error("the clock is broken: secret detail");
      },
    });
    try {
      const reply = await post(base, callbackQuery(), valid);
      expect(reply).toEqual({
        status: 500,
        body: { ActionStatus: "FAIL", ErrorCode: 50000, ErrorInfo: "internal error" },
      });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

/** The webhook app alone on a loopback port, with a store and clock of the test's choosing. */
async function serveApp(options: {
  store?: () => Promise<StoredIn>;
  maxInFlightRequests?: number;
  nowMs?: () => number;
}): Promise<{ base: string; server: Server }> {
  const metrics = createIngestMetrics({ spoolDepth: () => 0, breakerOpen: () => true, orphansAdopted: () => 0 });
  const app = createApp({
    metrics,
    callbackPath: "/callback",
    bodyLimitBytes: 4096,
    trustProxyHops: 0,
    callback: {
      sdkAppIds: new Set([APP_ID]),
      callbackToken: undefined,
      allowedSources: undefined,
      store: new MeteredStore(options.store ?? (() => Promise.resolve("queue")), metrics.recordStore),
      maxInFlightRequests: options.maxInFlightRequests ?? 10,
      nowMs: options.nowMs ?? Date.now,
    },
    readiness: () => ({ status: "degraded", queue: "unreachable", breaker: "open", spooled: 0 }),
    log: createLogger({ name: "create-app-test", level: "silent" }),
  });
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, "127.0.0.1", () => resolve(listening));
  });
  return { base: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server };
}
