import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, renameSync, utimesSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import type { ReceiptPacket } from "@receipt-sync/protocol";
import { createLogger } from "@receipt-sync/runtime";
import { afterEach, describe, expect, it } from "vitest";
import { receiptPacket, scratchDir } from "@receipt-sync/testing";
import { Spool } from "./spool.js";
import { startSpoolSweeper, type SpoolSweeper } from "./spool-sweeper.js";

const log = createLogger({ name: "spool-sweeper-test", level: "silent" });
const line = (group: string, i: number) =>
  `${JSON.stringify(receiptPacket({ groupId: group, eventTimeMs: 1000 + i, messages: [{ seq: i, read: 1, unread: 0 }] }))}\n`;

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A pid that is certainly dead: a child that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await new Promise((resolve) => child.once("exit", resolve));
  return child.pid!;
}

/** An ingest's directory as it left it: `segments` segments of `perSegment` callbacks, and its lock if given. */
function leaveSpool(
  dir: string,
  segments: number,
  perSegment: number,
  lock?: { owner: { pid: number; host: string }; ageMs?: number },
): string[] {
  mkdirSync(dir, { recursive: true });
  const groups: string[] = [];
  for (let s = 0; s < segments; s++) {
    const lines = Array.from({ length: perSegment }, (_, i) => {
      groups.push(`${dir}#${s}.${i}`);
      return line(`${dir}#${s}.${i}`, i);
    });
    writeFileSync(join(dir, `segment-${String(s).padStart(12, "0")}.jsonl`), lines.join(""));
  }
  if (lock) {
    const path = join(dir, "ingest.lock.0");
    writeFileSync(path, JSON.stringify(lock.owner));
    const atS = (Date.now() - (lock.ageMs ?? 0)) / 1000;
    utimesSync(path, atS, atS);
  }
  return groups;
}

/** An ingest's spool under `root` whose re-drive puts each packet's GroupId in `sent`, and its sweeper. */
async function ingestAt(
  root: string,
  instance: string,
  sent: string[],
  nowMs?: () => number,
): Promise<{ spool: Spool; sweeper: SpoolSweeper }> {
  const spool = await Spool.open({
    dir: join(root, instance),
    maxBytes: 64 * 1024 * 1024,
    log,
    enqueue: async (packets) => void sent.push(...packets.map((p) => (p as ReceiptPacket).receipt.GroupId)),
  });
  const sweeper = startSpoolSweeper({
    rootDir: root,
    instance,
    spool,
    canAdopt: () => true,
    intervalMs: 600_000,
    log,
    nowMs,
  });
  cleanups.push(async () => {
    await sweeper.stop();
    await spool.close();
  });
  return { spool, sweeper };
}

describe("the spool sweeper", () => {
  it("adopts the directory of an ingest that died, re-drives every callback in it, and removes it", async () => {
    const root = scratchDir("sweeper");
    const left = leaveSpool(join(root, "gone"), 3, 4, { owner: { pid: await deadPid(), host: hostname() } });
    const sent: string[] = [];
    const { spool, sweeper } = await ingestAt(root, "me", sent);
    await sweeper.sweep();
    expect(spool.depth).toBe(12);
    expect(existsSync(join(root, "gone"))).toBe(false);
    await spool.redrive();
    expect(sent.sort()).toEqual(left.sort());
    expect(spool.depth).toBe(0);
    expect(sweeper.adopted()).toBe(1);
    expect(readdirSync(join(root, "me")).filter((name) => name.endsWith(".jsonl"))).toEqual([]);
  });

  it("leaves a live ingest's directory alone: a lock touched within 30 s on another host, or of a live process here", async () => {
    const root = scratchDir("sweeper");
    const holder = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60_000)"], { stdio: "ignore" });
    cleanups.push(async () => holder.kill("SIGKILL"));
    leaveSpool(join(root, "elsewhere"), 1, 2, { owner: { pid: 1, host: "another-host" }, ageMs: 20_000 });
    leaveSpool(join(root, "here"), 1, 2, { owner: { pid: holder.pid!, host: hostname() } });
    const { spool, sweeper } = await ingestAt(root, "me", []);
    await sweeper.sweep();
    expect(spool.depth).toBe(0);
    expect(readdirSync(join(root, "elsewhere")).sort()).toEqual(["ingest.lock.0", "segment-000000000000.jsonl"]);
    expect(readdirSync(join(root, "here")).sort()).toEqual(["ingest.lock.0", "segment-000000000000.jsonl"]);
    expect(sweeper.adopted()).toBe(0);
  });

  it("takes a directory without a lock only once it has not changed for 30 s: a starting ingest keeps its own", async () => {
    const root = scratchDir("sweeper");
    const left = leaveSpool(join(root, "stopped"), 1, 3);
    let nowMs = Date.now();
    const sent: string[] = [];
    const { spool, sweeper } = await ingestAt(root, "me", sent, () => nowMs);
    await sweeper.sweep();
    expect(spool.depth).toBe(0);
    nowMs += 31_000;
    await sweeper.sweep();
    await spool.redrive();
    expect(sent.sort()).toEqual(left.sort());
    expect(existsSync(join(root, "stopped"))).toBe(false);
  });

  it("adopts segments an older version left directly in SPOOL_DIR, and keeps SPOOL_DIR", async () => {
    const root = scratchDir("sweeper");
    const left = leaveSpool(root, 2, 3, { owner: { pid: await deadPid(), host: hostname() } });
    const sent: string[] = [];
    const { spool, sweeper } = await ingestAt(root, "me", sent);
    await sweeper.sweep();
    await spool.redrive();
    expect(sent.sort()).toEqual(left.sort());
    expect(readdirSync(root)).toEqual(["me"]);
  });

  it("two sweepers racing over the same orphans: each callback is re-driven exactly once, every orphan removed", async () => {
    const root = scratchDir("sweeper");
    const dead = await deadPid();
    const left = Array.from({ length: 20 }, (_, o) =>
      leaveSpool(join(root, `gone-${o}`), 3, 5, { owner: { pid: dead, host: hostname() } }),
    ).flat();
    const sent: string[] = [];
    const [a, b] = [await ingestAt(root, "a", sent), await ingestAt(root, "b", sent)];
    await Promise.all([a.sweeper.sweep(), b.sweeper.sweep(), a.sweeper.sweep(), b.sweeper.sweep()]);
    await Promise.all([a.spool.redrive(), b.spool.redrive()]);
    expect(sent.length).toBe(left.length);
    expect(sent.sort()).toEqual(left.sort());
    expect(a.sweeper.adopted() + b.sweeper.adopted()).toBe(20);
    expect(readdirSync(root).sort()).toEqual(["a", "b"]);
  });

  it("an adoption cut short is taken up again: what was moved and what was not are both re-driven", async () => {
    const root = scratchDir("sweeper");
    const left = leaveSpool(join(root, "gone"), 3, 4, { owner: { pid: await deadPid(), host: hostname() } });
    const sent: string[] = [];
    // The clock runs 31 s ahead: the crashed adopter's directory, left without a lock, counts as stopped.
    const { spool, sweeper } = await ingestAt(root, "me", sent, () => Date.now() + 31_000);
    // A first adopter that dies after moving one segment into its own directory.
    const crashed = startSpoolSweeper({
      rootDir: root,
      instance: "crashed",
      spool: {
        adopt: async (paths) => {
          mkdirSync(join(root, "crashed"), { recursive: true });
          renameSync(paths[0]!, join(root, "crashed", "segment-000000000000.jsonl"));
          throw new Error("killed mid-adoption");
        },
      },
      canAdopt: () => true,
      intervalMs: 600_000,
      log,
    });
    await crashed.sweep();
    await crashed.stop();
    expect(existsSync(join(root, "gone"))).toBe(true);
    await sweeper.sweep();
    await spool.redrive();
    expect(sent.sort()).toEqual(left.sort());
    expect(readdirSync(root)).toEqual(["me"]);
  });

  it("an ingest whose directory is adopted while it still runs refuses what it can no longer keep; all it acknowledged is re-driven", async () => {
    const root = scratchDir("sweeper");
    const sent: string[] = [];
    const { spool: owner } = await ingestAt(root, "stalled", []);
    const { spool: adopter } = await ingestAt(root, "me", sent);
    const packet = (i: number) =>
      receiptPacket({ groupId: `p${i}`, eventTimeMs: 1000 + i, messages: [{ seq: i, read: 1, unread: 0 }] });
    const acked: string[] = [];
    const append = async (i: number) => {
      await owner.append(packet(i));
      acked.push(`p${i}`);
    };
    await Promise.all([0, 1, 2].map(append));
    // What a sweeper does once the owner's lock looks stale: move its open segment away.
    const open = readdirSync(join(root, "stalled")).filter((name) => name.endsWith(".jsonl"));
    await adopter.adopt(open.map((name) => join(root, "stalled", name)));
    const later = await Promise.allSettled([3, 4, 5].map(append));
    expect(later.map((result) => result.status)).toEqual(["rejected", "rejected", "rejected"]);
    await expect(append(6)).rejects.toThrow("taken over by another ingest");
    expect(owner.hasRoom).toBe(false);
    await adopter.redrive();
    expect(acked.sort()).toEqual(["p0", "p1", "p2"]);
    expect(sent).toEqual(expect.arrayContaining(acked));
  });

  it("adopts nothing while it may not (Redis away)", async () => {
    const root = scratchDir("sweeper");
    leaveSpool(join(root, "gone"), 1, 2, { owner: { pid: await deadPid(), host: hostname() } });
    const spool = await Spool.open({ dir: join(root, "me"), maxBytes: 1024 * 1024, log, enqueue: async () => {} });
    const sweeper = startSpoolSweeper({
      rootDir: root,
      instance: "me",
      spool,
      canAdopt: () => false,
      intervalMs: 600_000,
      log,
    });
    cleanups.push(async () => {
      await sweeper.stop();
      await spool.close();
    });
    await sweeper.sweep();
    expect(spool.depth).toBe(0);
    expect(readdirSync(join(root, "gone")).length).toBe(2);
  });
});
