import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  compareWithDatabase,
  createTestDatabase,
  expectedState,
  query,
  TEST_REDIS_URL,
  type TestDatabase,
  uniquePrefix,
} from "@receipt-sync/testing";
import { CEILING_SCHEMA, measureDbCeiling } from "./lib/ceiling.js";
import { generateStream } from "./lib/dataset.js";
import { pacedLatency, summariseLatency } from "./lib/paced-latency.js";
import { measureDrain, measureEndToEnd } from "./lib/pipeline-runs.js";

/** The benchmark's own machinery on a few hundred packets: it must count what it claims. */
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

const env = () => ({ databaseUrl: db.url, redisUrl: TEST_REDIS_URL, sdkAppId: "1400000001" });

describe("benchmark smoke run", () => {
  it("drains a queued stream with one worker and loses nothing", async () => {
    const packets = generateStream({ packets: 400, groups: 20, seed: 7, sdkAppId: "1400000001" });
    const drain = await measureDrain({ ...env(), prefix: uniquePrefix(), packets });
    expect(drain).toMatchObject({ packets: 400, lost: 0, wrong: 0, extra: 0 });
    expect(drain.expectedRows).toBeGreaterThan(400);
    expect(drain.jobs).toBeGreaterThan(0);
  });

  it("posts a stream over HTTP with a worker alongside and loses nothing", async () => {
    await query(db.url, "TRUNCATE group_message_receipts, group_message_readers, read_receipt_events");
    const packets = generateStream({ packets: 300, groups: 20, seed: 8, sdkAppId: "1400000001" });
    const e2e = await measureEndToEnd({ ...env(), prefix: uniquePrefix(), packets, connections: 10 });
    expect(e2e).toMatchObject({ posted: 300, acked: 300, lost: 0, wrong: 0, extra: 0 });
  });

  it("the ceiling writes exactly the expected rows, and the comparison notices a lost and a wrong row", async () => {
    const packets = generateStream({ packets: 200, groups: 10, seed: 9, sdkAppId: "1400000001" });
    const expected = expectedState(packets);
    await measureDbCeiling({ databaseUrl: db.url, packets, batchWeight: 50, concurrency: 2, keepSchema: true });
    expect(await compareWithDatabase(db.url, expected, CEILING_SCHEMA)).toMatchObject({ lost: 0, wrong: 0, extra: 0 });
    await query(db.url, `DROP SCHEMA ${CEILING_SCHEMA} CASCADE`);
    await query(db.url, "TRUNCATE group_message_receipts, group_message_readers, read_receipt_events");
    const drain = await measureDrain({ ...env(), prefix: uniquePrefix(), packets });
    expect(drain.lost + drain.wrong + drain.extra).toBe(0);
    await query(
      db.url,
      "DELETE FROM group_message_readers WHERE ctid IN (SELECT ctid FROM group_message_readers LIMIT 1)",
    );
    await query(
      db.url,
      "UPDATE group_message_receipts SET read_num = read_num + 1 WHERE ctid IN (SELECT ctid FROM group_message_receipts LIMIT 1)",
    );
    expect(await compareWithDatabase(db.url, expected)).toMatchObject({ lost: 1, wrong: 1 });
  });

  it("generates duplicates, late arrivals, wide MsgSeqs and non-ASCII readers", () => {
    const packets = generateStream({ packets: 2000, groups: 50, seed: 3, sdkAppId: "1400000001" });
    expect(new Set(packets).size).toBeLessThan(packets.length);
    const times = packets.map((p) => p.receipt.EventTime);
    expect(times.some((t, i) => i > 0 && t < times[i - 1]!)).toBe(true);
    const seqs = packets.flatMap((p) => p.receipt.GroupMsgReceiptList.map((m) => m.MsgSeq));
    expect(seqs.some((s) => s > 2 ** 32)).toBe(true);
    expect(seqs.every((s) => s >= 0)).toBe(true);
    const accounts = packets.flatMap((p) =>
      p.receipt.GroupMsgReceiptList.flatMap((m) => m.ReadReceiptMembers ?? []).map((r) => r.Member_Account),
    );
    expect(accounts.some((a) => /[^ -~]/.test(a))).toBe(true);
  });
});

describe("latency probe", () => {
  it("keeps its pace through a server stall and times each request from when it was due", async () => {
    let answered = 0;
    const server = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        answered += 1;
        if (answered === 300) {
          const until = performance.now() + 100; // the server's event loop stalls for 100 ms
          while (performance.now() < until);
        }
        res.writeHead(answered % 10 === 0 ? 503 : 200, { "content-length": "2" }).end("ok");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const window = await pacedLatency({
        url: `http://127.0.0.1:${port}/callback?x=1`,
        body: "{}",
        rate: 500,
        durationS: 1,
        warmupS: 0.2,
        connections: 2,
      });
      expect(window.sent).toBe(500);
      expect(window.latenciesMs).toHaveLength(500);
      expect(answered).toBe(600); // the warm-up's 100 are answered but not measured
      expect(window.ok).toBe(450); // every tenth answer was a 503
      expect(window.elapsedS).toBeGreaterThan(0.95);
      expect(window.elapsedS).toBeLessThan(1.5);
      // About 50 requests fell due during the stall; with two connections most of them waited
      // unsent in the probe, and that wait counts (else p99 would hide the stall).
      const summary = summariseLatency([window]);
      expect(summary.maxMs).toBeGreaterThan(90);
      expect(summary.p99Ms).toBeGreaterThan(50);
      expect(summary.p50Ms).toBeLessThan(20);
      expect(summary.windowP99Ms).toEqual([summary.p99Ms]);
    } finally {
      server.close();
    }
  });
});
