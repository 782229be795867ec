import { readdirSync, readFileSync, appendFileSync } from "node:fs";
import { join } from "node:path";
import type { ReceiptPacket } from "@receipt-sync/protocol";
import { createLogger } from "@receipt-sync/runtime";
import { describe, expect, it } from "vitest";
import { receiptPacket } from "../../../test/support/fixtures.js";
import { Spool, SpoolFullError } from "./spool.js";
import { scratchDir } from "../../../test/support/scratch-dir.js";

const log = createLogger({ name: "spool-test", level: "silent" });
const packet = (i: number) => receiptPacket({ groupId: `g${i}`, eventTimeMs: 1000 + i, messages: [{ seq: i, read: 1, unread: 0, readers: ["读者"] }] });

async function openSpool(dir: string, sink: unknown[][], options: { failEnqueue?: () => boolean; maxBytes?: number } = {}) {
  return Spool.open({
    dir,
    maxBytes: options.maxBytes ?? 10 * 1024 * 1024,
    log,
    redriveBatch: 3,
    enqueue: async (packets) => {
      if (options.failEnqueue?.()) throw new Error("redis down");
      sink.push([...packets]);
    },
  });
}

describe("Spool", () => {
  it("has each packet on disk when append resolves, and re-drives them all into the queue", async () => {
    const dir = scratchDir("spool-test");
    const sent: ReceiptPacket[][] = [];
    const spool = await openSpool(dir, sent);
    await Promise.all([1, 2, 3, 4, 5].map((i) => spool.append(packet(i))));
    expect(spool.depth).toBe(5);
    const onDisk = readdirSync(dir).map((f) => readFileSync(join(dir, f), "utf8")).join("");
    expect(onDisk.trim().split("\n").map((l) => JSON.parse(l).receipt.GroupId).sort()).toEqual(["g1", "g2", "g3", "g4", "g5"]);

    await spool.redrive();
    expect(sent.flat().map((p) => p.receipt.GroupId).sort()).toEqual(["g1", "g2", "g3", "g4", "g5"]);
    expect(sent.every((batch) => batch.length <= 3)).toBe(true);
    expect(sent.flat().find((p) => p.receipt.GroupId === "g1")).toEqual({ ...packet(1), receivedAtMs: expect.any(Number) });
    expect(spool.depth).toBe(0);
    expect(readdirSync(dir)).toEqual([]);
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
    await second.redrive();
    expect(sent.flat().map((p) => p.receipt.GroupId).sort()).toEqual(["g1", "g2", "g3"]);
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
    const [segment] = readdirSync(dir);
    appendFileSync(join(dir, segment!), '{"sdkAppId":"","receipt":{}}\n{"sdkAppId":"14000');

    const sent: ReceiptPacket[][] = [];
    const second = await openSpool(dir, sent);
    expect(second.depth).toBe(3);
    await second.redrive();
    expect(sent.flat()).toEqual([expect.objectContaining({ sdkAppId: packet(1).sdkAppId }), { sdkAppId: "", receipt: {} }, '{"sdkAppId":"14000']);
    expect(second.depth).toBe(0);
    expect(readdirSync(dir)).toEqual([]);
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
});
