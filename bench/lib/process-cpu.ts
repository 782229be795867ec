import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second in /proc/<pid>/stat (USER_HZ); 100 on every Linux that ships. */
const TICKS_PER_SECOND = 100;

/** CPU time (user + system) a process has used so far, in microseconds; 0 once it is gone. */
export function cpuMicros(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name may hold spaces and parentheses: fields are counted after the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / TICKS_PER_SECOND;
  } catch {
    return 0; // the process ended: it uses no more
  }
}

/** Processes whose command name is `name` (e.g. every Postgres backend), optionally filtered by command line. */
export function pidsNamed(name: string, cmdlineIncludes = ""): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, "utf8").trim() !== name) continue;
      if (cmdlineIncludes && !readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(cmdlineIncludes)) continue;
      pids.push(Number(entry));
    } catch {
      // gone between listing and reading
    }
  }
  return pids;
}

/**
 * CPU used by a set of processes between `start()` and `stop()`, counting processes that
 * appear in between (Postgres starts a backend per connection) and those that end (their last
 * reading stands).
 */
export function cpuMeter(find: () => number[]) {
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  const sample = () => {
    for (const pid of find()) {
      const micros = cpuMicros(pid);
      if (!first.has(pid)) first.set(pid, 0); // born after start: all its CPU is in the window
      if (micros > 0) last.set(pid, micros);
    }
  };
  return {
    start() {
      for (const pid of find()) first.set(pid, cpuMicros(pid));
    },
    sample,
    /** Microseconds used since start. Sample often enough to catch short-lived processes. */
    stop(): number {
      sample();
      let total = 0;
      for (const [pid, micros] of last) total += micros - (first.get(pid) ?? 0);
      return total;
    },
  };
}

/** CPU the whole machine spent (every core, all but idle and iowait), in µs, from /proc/stat. */
export function machineBusyUs(): number {
  const { user, nice, system, irq, softirq, steal } = machineCpu();
  return ((user + nice + system + irq + softirq + steal) * 1e6) / TICKS_PER_SECOND;
}

/**
 * The kernel's interrupt work, in µs. No process is charged for it, and loopback traffic between
 * workers, Postgres and Redis makes most of it.
 */
export function machineInterruptUs(): number {
  const { irq, softirq } = machineCpu();
  return ((irq + softirq) * 1e6) / TICKS_PER_SECOND;
}

function machineCpu() {
  const [cpu] = readFileSync("/proc/stat", "utf8").split("\n");
  const [user, nice, system, , , irq, softirq, steal] = cpu!.trim().split(/\s+/).slice(1).map(Number);
  return { user: user!, nice: nice!, system: system!, irq: irq!, softirq: softirq!, steal: steal! };
}

/**
 * Sums the CPU of groups of processes over a window (the scaling bench: workers, the Postgres
 * backends of one database found through pg_stat_activity, Redis). A process first seen after the window
 * opened counts from zero when `bornInWindow` says it started inside it (a fresh fork has used
 * nothing), else from its first reading; one that exits keeps its last reading.
 */
export class CpuGroups {
  private readonly first = new Map<number, number>();
  private readonly last = new Map<number, number>();
  private readonly groupOf = new Map<number, string>();

  track(group: string, pid: number, bornInWindow = false): void {
    if (this.groupOf.has(pid)) return;
    const now = cpuMicros(pid);
    if (now === 0 && !bornInWindow) return; // gone already
    this.groupOf.set(pid, group);
    this.first.set(pid, bornInWindow ? 0 : now);
    this.last.set(pid, now);
  }

  sample(): void {
    for (const pid of this.groupOf.keys()) {
      const now = cpuMicros(pid);
      if (now > 0) this.last.set(pid, now);
    }
  }

  /** µs per group since tracking began. */
  totals(): Record<string, number> {
    const totals: Record<string, number> = {};
    for (const [pid, group] of this.groupOf)
      totals[group] = (totals[group] ?? 0) + this.last.get(pid)! - this.first.get(pid)!;
    return totals;
  }
}
