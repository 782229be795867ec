import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

const TICKS_PER_S = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

/** CPU a process has used (user + system, /proc/<pid>/stat utime + stime), in µs; undefined once it is gone. */
export function processCpuUs(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined; // exited: the caller keeps the last reading
  }
  // Fields after "pid (comm) ": comm may hold spaces and parentheses, so split after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) / TICKS_PER_S) * 1e6;
}

/** CPU the whole machine spent (every core, all but idle and iowait), in µs, from /proc/stat. */
export function machineBusyUs(): number {
  const { user, nice, system, irq, softirq, steal } = machineCpu();
  return ((user + nice + system + irq + softirq + steal) / TICKS_PER_S) * 1e6;
}

/**
 * The kernel's interrupt work, in µs. No process is charged for it, and loopback traffic between
 * workers, Postgres and Redis makes most of it.
 */
export function machineInterruptUs(): number {
  const { irq, softirq } = machineCpu();
  return ((irq + softirq) / TICKS_PER_S) * 1e6;
}

function machineCpu() {
  const [cpu] = readFileSync("/proc/stat", "utf8").split("\n");
  const [user, nice, system, , , irq, softirq, steal] = cpu!.trim().split(/\s+/).slice(1).map(Number);
  return { user: user!, nice: nice!, system: system!, irq: irq!, softirq: softirq!, steal: steal! };
}

/**
 * Sums the CPU of groups of processes over a window. A process first seen after the window
 * opened counts from zero when `bornInWindow` says it started inside it (a fresh fork has used
 * nothing), else from its first reading; one that exits keeps its last reading.
 */
export class CpuMeter {
  private readonly first = new Map<number, number>();
  private readonly last = new Map<number, number>();
  private readonly groupOf = new Map<number, string>();

  track(group: string, pid: number, bornInWindow = false): void {
    if (this.groupOf.has(pid)) return;
    const now = processCpuUs(pid);
    if (now === undefined) return;
    this.groupOf.set(pid, group);
    this.first.set(pid, bornInWindow ? 0 : now);
    this.last.set(pid, now);
  }

  sample(): void {
    for (const pid of this.groupOf.keys()) {
      const now = processCpuUs(pid);
      if (now !== undefined) this.last.set(pid, now);
    }
  }

  /** µs per group since tracking began. */
  totals(): Record<string, number> {
    const totals: Record<string, number> = {};
    for (const [pid, group] of this.groupOf) totals[group] = (totals[group] ?? 0) + this.last.get(pid)! - this.first.get(pid)!;
    return totals;
  }
}
