import { readFileSync } from "node:fs";

/** A memory field of /proc/<pid>/status in MB; undefined when absent (an exited process not yet reaped has none). */
function statusMb(pid: number, field: "VmHWM" | "VmRSS"): number | undefined {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(status);
  return match ? Number(match[1]) / 1024 : undefined;
}

/** The kernel's high-water mark of a process's resident memory (VmHWM), in MB. */
export function peakRssMb(pid: number): number {
  const mb = statusMb(pid, "VmHWM");
  if (mb === undefined) throw new Error(`no VmHWM for process ${pid}`);
  return mb;
}

/** A process's resident memory now (VmRSS), in MB; undefined once it has exited (and throws once it is reaped). */
export function residentMb(pid: number): number | undefined {
  return statusMb(pid, "VmRSS");
}
