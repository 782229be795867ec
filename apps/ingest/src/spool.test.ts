import { appendFileSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { ReceiptPacket } from "@receipt-sync/protocol";
import { createLogger } from "@receipt-sync/runtime";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { receiptPacket, scratchDir } from "@receipt-sync/testing";
import { Spool, SpoolFullError } from "./spool.js";

const log = createLogger({ name: "spool-test", level: "silent" });
const packet = (i: number, readers = ["读者"]) =>
  receiptPacket({ groupId: `g${i}`, eventTimeMs: 1000 + i, messages: [{ seq: i, read: 1, unread: 0, readers }] });
const groupIds = (batches: unknown[][]) =>
  batches
    .flat()
    .map((p) => (p as ReceiptPacket).receipt.GroupId)
    .sort();
const segmentsIn = (dir: string) =>
  readdirSync(dir)
    .filter((name) => name.endsWith(".jsonl"))
    .sort();

type Options = {
  failEnqueue?: () => boolean;
  maxBytes?: number;
  segmentBytes?: number;
  weightOf?: (value: unknown) => number;
};

async function openSpool(dir: string, sink: unknown[][], options: Options = {}) {
  return Spool.open({
    dir,
    maxBytes: options.maxBytes ?? 10 * 1024 * 1024,
    segmentBytes: options.segmentBytes,
    log,
    redriveBatchWeight: 3,
    weightOf: options.weightOf,
    enqueue: async (packets) => {
      if (options.failEnqueue?.()) throw new Error("redis down");
      sink.push([...packets]);
    },
  });
}

/** Lets `count` turns of the event loop's check phase pass: timers and I/O callbacks interleave with them. */
async function immediates(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe("Spool", () => {
  it("has each packet on disk when append resolves, and re-drives them all into the queue", async () => {
    const dir = scratchDir("spool-test");
    const sent: ReceiptPacket[][] = [];
    const spool = await openSpool(dir, sent);
    await Promise.all([1, 2, 3, 4, 5].map((i) => spool.append(packet(i))));
    expect(spool.depth).toBe(5);
    const onDisk = segmentsIn(dir)
      .map((f) => readFileSync(join(dir, f), "utf8"))
      .join("");
    expect(
      onDisk
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).receipt.GroupId)
        .sort(),
    ).toEqual(["g1", "g2", "g3", "g4", "g5"]);

    await spool.redrive();
    expect(groupIds(sent)).toEqual(["g1", "g2", "g3", "g4", "g5"]);
    expect(sent.every((batch) => batch.length <= 3)).toBe(true);
    expect(sent.flat().find((p) => p.receipt.GroupId === "g1")).toEqual({
      ...packet(1),
      receivedAtMs: expect.any(Number),
    });
    expect(spool.depth).toBe(0);
    expect(segmentsIn(dir)).toEqual([]);
    await spool.close();
  });

  it("survives a restart: a new process re-drives what the last one spooled", async () => {
    const dir = scratchDir("spool-test");
    const first = await openSpool(dir, []);
    await first.append(packet(1));
    await first.append(packet(2));
    await first.close();

    const sent: ReceiptPacket[][] = [];
    const second = await openSpool(dir, sent);
    expect(second.depth).toBe(2);
    await second.append(packet(3));
    expect(second.depth).toBe(3);
    await second.redrive();
    expect(groupIds(sent)).toEqual(["g1", "g2", "g3"]);
    expect(second.depth).toBe(0);
    await second.close();
  });

  it("keeps a segment whose re-drive failed and sends it in full once the queue is back", async () => {
    const dir = scratchDir("spool-test");
    const sent: ReceiptPacket[][] = [];
    let down = true;
    const spool = await openSpool(dir, sent, { failEnqueue: () => down });
    for (let i = 1; i <= 4; i++) await spool.append(packet(i));
    await expect(spool.redrive()).rejects.toThrow("redis down");
    expect(spool.depth).toBe(4);
    down = false;
    await spool.redrive();
    expect(sent.flat()).toHaveLength(4);
    expect(spool.depth).toBe(0);
    await spool.close();
  });

  it("sends on every line, even one it cannot read, for the worker to check or quarantine", async () => {
    const dir = scratchDir("spool-test");
    const first = await openSpool(dir, []);
    await first.append(packet(1));
    await first.close();
    const [segment] = segmentsIn(dir);
    appendFileSync(join(dir, segment!), '{"sdkAppId":"","receipt":{}}\n\n{"sdkAppId":"14000');

    const sent: ReceiptPacket[][] = [];
    const second = await openSpool(dir, sent);
    expect(second.depth).toBe(3);
    await second.redrive();
    expect(sent.flat()).toEqual([
      expect.objectContaining({ sdkAppId: packet(1).sdkAppId }),
      { sdkAppId: "", receipt: {} },
      '{"sdkAppId":"14000',
    ]);
    expect(second.depth).toBe(0);
    expect(segmentsIn(dir)).toEqual([]);
    await second.close();
  });

  it("refuses a packet that would take it past its size limit", async () => {
    const dir = scratchDir("spool-test");
    const spool = await openSpool(dir, [], { maxBytes: 600 });
    await spool.append(packet(1));
    await expect(spool.append(packet(2))).rejects.toThrow(SpoolFullError);
    expect(spool.depth).toBe(1);
    expect(spool.hasRoom).toBe(false);
    await spool.close();
  });

  it("caps segments at segmentBytes, and re-drives them oldest first", async () => {
    const dir = scratchDir("spool-test");
    const sent: ReceiptPacket[][] = [];
    const spool = await openSpool(dir, sent, { segmentBytes: 2048 });
    for (let i = 0; i < 40; i++) await Promise.all([spool.append(packet(2 * i)), spool.append(packet(2 * i + 1))]);
    const segments = segmentsIn(dir);
    expect(segments.length).toBeGreaterThan(5);
    for (const name of segments) expect(statSync(join(dir, name)).size).toBeLessThanOrEqual(2048);
    await spool.redrive();
    const order = sent.flat().map((p) => p.receipt.EventTime);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(order).toHaveLength(80);
    await spool.close();
  });

  it("re-drives jobs capped in weight: a heavy line goes alone, light ones share a job", async () => {
    const dir = scratchDir("spool-test");
    const sent: ReceiptPacket[][] = [];
    const spool = await openSpool(dir, sent, {
      weightOf: (value) => ((value as ReceiptPacket).receipt.GroupId === "g2" ? 10 : 1),
    });
    for (let i = 1; i <= 6; i++) await spool.append(packet(i));
    await spool.redrive();
    expect(sent.map((job) => job.map((p) => p.receipt.GroupId))).toEqual([["g1"], ["g2"], ["g3", "g4", "g5"], ["g6"]]);
    await spool.close();
  });

  it("streams lines longer than its read chunk back intact", async () => {
    const dir = scratchDir("spool-test");
    const sent: ReceiptPacket[][] = [];
    const spool = await openSpool(dir, sent);
    const big = packet(
      1,
      Array.from({ length: 1000 }, (_, r) => `reader-${r}-${"x".repeat(300)}`),
    );
    await spool.append(big);
    await spool.append(packet(2));
    await spool.close();
    const reopened = await openSpool(dir, sent);
    expect(reopened.depth).toBe(2);
    await reopened.redrive();
    expect(sent.flat()).toEqual([
      { ...big, receivedAtMs: expect.any(Number) },
      expect.objectContaining({ receipt: expect.objectContaining({ GroupId: "g2" }) }),
    ]);
    await reopened.close();
  });

  it("never fails an append, nor miscounts, when a re-drive closes the segment while a write group is in flight", async () => {
    // The re-drive starts at a different point of the write group each time: before it was
    // taken, while its bytes are being written, while they are being synced, after.
    for (let hops = 0; hops <= 12; hops++) {
      const dir = scratchDir("spool-race");
      const sent: ReceiptPacket[][] = [];
      const spool = await openSpool(dir, sent);
      await spool.append(packet(0));
      const appends = Array.from({ length: 300 }, (_, i) => spool.append(packet(i + 1)));
      await immediates(hops);
      const redriving = spool.redrive();
      const results = await Promise.allSettled(appends);
      await redriving;
      expect(
        results.filter((r) => r.status === "rejected"),
        `re-drive after ${hops} turns`,
      ).toEqual([]);
      expect(spool.depth).toBe(301 - sent.flat().length);
      await spool.redrive();
      expect(spool.depth).toBe(0);
      expect(groupIds(sent)).toEqual(Array.from({ length: 301 }, (_, i) => `g${i}`).sort());
      await spool.close();
    }
  });

  it("keeps depth equal to the acknowledged packets not yet re-driven, whatever appends and re-drives interleave", async () => {
    type Step = { appends: number; redrive: "none" | "ok" | "fail"; atTurn: number };
    const step = fc.record({
      appends: fc.integer({ min: 0, max: 40 }),
      redrive: fc.constantFrom("none", "ok", "fail"),
      atTurn: fc.integer({ min: 0, max: 6 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 8 }), async (steps: Step[]) => {
        const dir = scratchDir("spool-depth");
        const sent: ReceiptPacket[][] = [];
        let failing = false;
        const spool = await openSpool(dir, sent, { segmentBytes: 4096, failEnqueue: () => failing });
        let acknowledged = 0;
        let next = 0;
        for (const { appends, redrive, atTurn } of steps) {
          const pending = Array.from({ length: appends }, () =>
            spool.append(packet(next++)).then(() => void (acknowledged += 1)),
          );
          await immediates(atTurn);
          failing = redrive === "fail";
          if (redrive !== "none")
            await spool.redrive().catch((error: Error) => expect(error.message).toBe("redis down"));
          await Promise.all(pending);
          expect(spool.depth).toBeGreaterThanOrEqual(0);
          expect(spool.depth).toBe(acknowledged - new Set(groupIds(sent)).size);
        }
        failing = false;
        await spool.redrive();
        expect(spool.depth).toBe(0);
        expect(new Set(groupIds(sent)).size).toBe(next);
        await spool.close();
      }),
      { numRuns: 25 },
    );
  });
});
