import type { ReceiptState } from "@receipt-sync/db";
import type { PassReport } from "./run-pass.js";

/** `6h`, `30m`, `2d`, `90s` -> milliseconds; undefined when it is none of these. */
export function parseDuration(text: string): number | undefined {
  const match = /^([1-9][0-9]{0,6})(s|m|h|d)$/.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * { s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 }[match[2] as "s" | "m" | "h" | "d"];
}

const state = (s: ReceiptState | undefined) =>
  s ? `${s.readNum}/${s.unreadNum}, ${s.readers.length} readers` : "(none)";

/** One row per message that differs, for console.table. */
export function differenceTable(report: PassReport): Record<string, string | number>[] {
  return report.differences.map((d) => ({
    group: d.groupId,
    msgSeq: d.msgSeq,
    differs: d.differences.join(", "),
    "ours (read/unread)": state(d.ours),
    "tencent (read/unread)": state(d.theirs),
    result: report.dryRun ? "would repair" : d.repaired ? "repaired" : "unchanged",
  }));
}

export function summaryLine(report: PassReport): string {
  const calls = Object.values(report.calls).reduce((sum, n) => sum + (n ?? 0), 0);
  const outcome = report.dryRun ? "nothing changed (dry run)" : `${report.repaired} repaired`;
  return (
    `app ${report.sdkAppId}: ${report.groups} groups, ${report.checked} messages checked, ${report.differences.length} differ, ${outcome}, ` +
    `${report.skips.length} skipped, ${calls} API calls in ${(report.durationMs / 1000).toFixed(1)} s`
  );
}

/** A progress bar on stderr, redrawn in place; only on a terminal, so logs and pipes stay clean. */
export function progressBar(
  stream: NodeJS.WriteStream,
): ((p: { groupsDone: number; groups: number; checked: number; differences: number }) => void) & { end: () => void } {
  let drawn = false;
  const draw = Object.assign(
    (p: { groupsDone: number; groups: number; checked: number; differences: number }) => {
      if (!stream.isTTY) return;
      const width = 30;
      const filled = p.groups > 0 ? Math.round((p.groupsDone / p.groups) * width) : width;
      stream.write(
        `\r[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${p.groupsDone}/${p.groups} groups, ${p.checked} messages checked, ${p.differences} differ`,
      );
      drawn = true;
    },
    {
      end: () => {
        if (drawn) stream.write("\n");
      },
    },
  );
  return draw;
}
