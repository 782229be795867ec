import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ReceiptPacket } from "@receipt-sync/protocol";
import { createLogger } from "@receipt-sync/runtime";
import { receiptPacket, scratchDir } from "@receipt-sync/testing";
import { afterEach, expect, it, vi } from "vitest";
import * as segmentLines from "./segment-lines.js";
import { Spool } from "./spool.js";

// A file-table error (EMFILE) while counting a segment already moved in must not strand it.
vi.mock("./segment-lines.js", async (original) => {
  const real = await original<typeof segmentLines>();
  return { ...real, countSegmentLines: vi.fn(real.countSegmentLines) };
});

const log = createLogger({ name: "spool-adopt-test", level: "silent" });
const spools: Spool[] = [];
afterEach(async () => {
  for (const spool of spools.splice(0)) await spool.close();
  vi.mocked(segmentLines.countSegmentLines).mockClear();
});

it("a segment moved in is re-driven even when counting it after the move fails", async () => {
  const root = scratchDir("spool-adopt");
  const gone = join(root, "gone");
  mkdirSync(gone, { recursive: true });
  const groups = ["g0", "g1", "g2"];
  const lines = groups.map((groupId, i) =>
    JSON.stringify(receiptPacket({ groupId, eventTimeMs: 1000 + i, messages: [{ seq: i, read: 1, unread: 0 }] })),
  );
  writeFileSync(join(gone, "segment-000000000000.jsonl"), `${lines.join("\n")}\n`);
  const sent: string[] = [];
  const spool = await Spool.open({
    dir: join(root, "me"),
    maxBytes: 1024 * 1024,
    log,
    enqueue: async (packets) => void sent.push(...packets.map((packet) => (packet as ReceiptPacket).receipt.GroupId)),
  });
  spools.push(spool);

  const count = vi.mocked(segmentLines.countSegmentLines);
  count.mockImplementation(async (path) => {
    if (path.startsWith(join(root, "me"))) throw Object.assign(new Error("too many open files"), { code: "EMFILE" });
    return (await vi.importActual<typeof segmentLines>("./segment-lines.js")).countSegmentLines(path);
  });
  // The sweeper logs a throw and sweeps again later; what matters is where the segment ends up.
  await spool.adopt([join(gone, "segment-000000000000.jsonl")]).catch(() => undefined);

  expect(readdirSync(gone)).toEqual([]);
  expect(spool.depth).toBe(3);
  await spool.redrive();
  expect(sent.sort()).toEqual(groups);
  expect(spool.depth).toBe(0);
});
