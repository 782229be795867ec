import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { appCommand } from "./processes.js";

/** The heap limit, in MB, of a node started with `flags`. */
function heapLimitMb(flags: readonly string[]): number {
  const print = "process.stdout.write(String(require('node:v8').getHeapStatistics().heap_size_limit / 2 ** 20))";
  return Number(execFileSync(process.execPath, [...flags, "-e", print]));
}

describe("appCommand", () => {
  it("runs an app's start script from the repository root, entry point last", () => {
    expect(appCommand("ingest").at(-1)).toBe("apps/ingest/dist/main.js");
    expect(appCommand("worker").at(-1)).toBe("apps/worker/dist/main.js");
  });

  it("puts extra node flags after the start script's own, so that an extra flag wins over the script's", () => {
    const extra = "--max-old-space-size=96";
    const flags = appCommand("worker", [extra]).slice(0, -1);
    expect(flags.at(-1)).toBe(extra);
    expect(heapLimitMb(flags)).toBe(heapLimitMb([extra]));
  });
});
