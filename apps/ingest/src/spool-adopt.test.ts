import { appendFileSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
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
const realCount = async (path: string) =>
  (await vi.importActual<typeof segmentLines>("./segment-lines.js")).countSegmentLines(path);

const log = createLogger({ name: "spool-adopt-test", level: "silent" });
const line = (groupId: string, i: number) =>
  `${JSON.stringify(receiptPacket({ groupId, eventTimeMs: 1000 + i, messages: [{ seq: i, read: 1, unread: 0 }] }))}\n`;
const spools: Spool[] = [];
afterEach(async () => {
  for (const spool of spools.splice(0)) await spool.close();
  vi.mocked(segmentLines.countSegmentLines).mockReset();
});

it.each([
  { at: "3 lines", lines: 3 },
  { at: "an empty segment", lines: 0 },
])(
  "a segment moved in is re-driven whole when counting it after the move fails ($at, and one more line acknowledged by its owner before the move)",
  async ({ lines }) => {
    const root = scratchDir("spool-adopt");
    const gone = join(root, "gone");
    mkdirSync(gone, { recursive: true });
    const segment = join(gone, "segment-000000000000.jsonl");
    const groups = Array.from({ length: lines }, (_, i) => `g${i}`);
    writeFileSync(segment, groups.map(line).join(""));
    const sent: string[] = [];
    const spool = await Spool.open({
      dir: join(root, "me"),
      maxBytes: 1024 * 1024,
      log,
      enqueue: async (packets) => void sent.push(...packets.map((packet) => (packet as ReceiptPacket).receipt.GroupId)),
    });
    spools.push(spool);

    vi.mocked(segmentLines.countSegmentLines).mockImplementation(async (path) => {
      if (path.startsWith(join(root, "me"))) throw Object.assign(new Error("too many open files"), { code: "EMFILE" });
      const counted = await realCount(path);
      // The owner, still running, writes and syncs a line and sees its segment in place: acknowledged.
      appendFileSync(path, line("late", lines));
      return counted;
    });
    // The sweeper logs a throw and sweeps again later; what matters is where the segment ends up.
    await spool.adopt([segment]).catch(() => undefined);

    expect(readdirSync(gone)).toEqual([]);
    expect(spool.depth).toBeGreaterThan(0);
    await spool.redrive();
    expect(sent.sort()).toEqual([...groups, "late"].sort());
    expect(spool.depth).toBe(0);
  },
);
