import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { appCommand } from "./processes.js";

describe("appCommand", () => {
  it("puts extra node flags after the start script's own, so that an extra flag wins over the script's", () => {
    const [script, ...flagsReversed] = appCommand("worker", ["--max-old-space-size=3072"]).reverse();
    expect(script).toBe("apps/worker/dist/main.js");
    const flags = flagsReversed.reverse();
    expect(flags.filter((flag) => flag.startsWith("--max-old-space-size=")).length).toBe(2);
    // Node keeps the last of repeated V8 flags: the heap limit tells which one it kept.
    const limitMb = Number(
      execFileSync(process.execPath, [
        ...flags,
        "-e",
        "process.stdout.write(String(require('node:v8').getHeapStatistics().heap_size_limit / 2 ** 20))",
      ]),
    );
    expect(limitMb).toBeGreaterThanOrEqual(3072);
  });
});
