import { describe, expect, it } from "vitest";
import { differenceTable, parseDuration, progressBar, summaryLine } from "./format-report.js";
import type { PassReport } from "./run-pass.js";

const report: PassReport = {
  sdkAppId: "1400000001",
  dryRun: false,
  startedAt: "2026-11-27T00:00:00.000Z",
  durationMs: 8212,
  groups: 2,
  checked: 20,
  noReceipt: 3,
  differences: [
    {
      groupId: "g",
      msgSeq: 4,
      differences: ["missing"],
      ours: undefined,
      theirs: { readNum: 2, unreadNum: 1, readers: ["a", "b"] },
      repaired: true,
    },
    {
      groupId: "g",
      msgSeq: 5,
      differences: ["readers"],
      ours: { readNum: 1, unreadNum: 2, readers: [] },
      theirs: { readNum: 1, unreadNum: 2, readers: ["a"] },
      repaired: false,
    },
  ],
  repaired: 1,
  skips: [],
  calls: { get_group_info: 1, get_group_msg_receipt: 2, get_group_msg_receipt_detail: 2 },
};

describe("the reconcile CLI's output", () => {
  it("reads --since as seconds, minutes, hours or days", () => {
    expect([parseDuration("90s"), parseDuration("30m"), parseDuration("6h"), parseDuration("2d")]).toEqual([
      90_000, 1_800_000, 21_600_000, 172_800_000,
    ]);
    expect([parseDuration("6"), parseDuration("0h"), parseDuration("1w")]).toEqual([undefined, undefined, undefined]);
  });

  it("shows ours and Tencent's state per differing message, and what became of it", () => {
    expect(differenceTable(report)).toEqual([
      {
        group: "g",
        msgSeq: 4,
        differs: "missing",
        "ours (read/unread)": "(none)",
        "tencent (read/unread)": "2/1, 2 readers",
        result: "repaired",
      },
      {
        group: "g",
        msgSeq: 5,
        differs: "readers",
        "ours (read/unread)": "1/2, 0 readers",
        "tencent (read/unread)": "1/2, 1 readers",
        result: "unchanged",
      },
    ]);
    expect(differenceTable({ ...report, dryRun: true }).map((r) => r.result)).toEqual(["would repair", "would repair"]);
    expect(summaryLine(report)).toBe(
      "app 1400000001: 2 groups, 20 messages checked, 2 differ, 1 repaired, 0 skipped, 5 API calls in 8.2 s",
    );
  });

  it("draws a progress bar on a terminal only", () => {
    const written: string[] = [];
    const tty = { isTTY: true, write: (text: string) => written.push(text) } as unknown as NodeJS.WriteStream;
    const bar = progressBar(tty);
    bar({ groupsDone: 1, groups: 2, checked: 10, differences: 1 });
    bar.end();
    expect(written).toEqual([`\r[${"#".repeat(15)}${"-".repeat(15)}] 1/2 groups, 10 messages checked, 1 differ`, "\n"]);
    const piped: string[] = [];
    const pipe = progressBar({
      isTTY: false,
      write: (text: string) => piped.push(text),
    } as unknown as NodeJS.WriteStream);
    pipe({ groupsDone: 1, groups: 2, checked: 10, differences: 1 });
    pipe.end();
    expect(piped).toEqual([]);
  });
});
