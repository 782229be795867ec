import { spawn } from "node:child_process";
import { readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { createLogger } from "@receipt-sync/runtime";
import { describe, expect, it } from "vitest";
import { scratchDir } from "@receipt-sync/testing";
import { lockSpoolDir, SpoolLockedError } from "./spool-lock.js";

const log = createLogger({ name: "spool-lock-test", level: "silent" });

/** A pid that is certainly dead: a child that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await new Promise((resolve) => child.once("exit", resolve));
  return child.pid!;
}

function writeLock(dir: string, owner: { pid: number; host: string }, ageMs = 0): void {
  const path = join(dir, "ingest.lock.0");
  writeFileSync(path, JSON.stringify(owner));
  const atS = (Date.now() - ageMs) / 1000;
  utimesSync(path, atS, atS);
}

describe("the spool directory lock", () => {
  it("refuses a second open of one directory in the same process, and allows it after release", async () => {
    const dir = scratchDir("spool-lock");
    const lock = await lockSpoolDir(dir, log);
    await expect(lockSpoolDir(dir, log)).rejects.toThrow(`spool directory ${dir} is in use by process ${process.pid}`);
    await lock.release();
    expect(readdirSync(dir)).toEqual([]);
    await (await lockSpoolDir(dir, log)).release();
  });

  it("refuses a directory whose lock names a live process on this host, naming the directory and the process", async () => {
    const dir = scratchDir("spool-lock");
    const holder = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60_000)"], { stdio: "ignore" });
    try {
      writeLock(dir, { pid: holder.pid!, host: hostname() });
      const refused = lockSpoolDir(dir, log);
      await expect(refused).rejects.toThrow(SpoolLockedError);
      await expect(refused).rejects.toThrow(
        `config error: spool directory ${dir} is in use by process ${holder.pid} on ${hostname()}`,
      );
    } finally {
      holder.kill("SIGKILL");
    }
  });

  it("takes over a lock left by a dead process, or by an earlier life of our own pid (a restarted container)", async () => {
    for (const pid of [await deadPid(), process.pid]) {
      const dir = scratchDir("spool-lock");
      writeLock(dir, { pid, host: hostname() });
      const lock = await lockSpoolDir(dir, log);
      expect(readdirSync(dir)).toEqual(["ingest.lock.1"]);
      expect(JSON.parse(readFileSync(join(dir, "ingest.lock.1"), "utf8"))).toEqual({
        pid: process.pid,
        host: hostname(),
      });
      await lock.release();
    }
  });

  it("judges another host's lock by its heartbeat: refused while touched, taken over once 30 s old", async () => {
    const dir = scratchDir("spool-lock");
    writeLock(dir, { pid: 1, host: "another-host" }, 5_000);
    await expect(lockSpoolDir(dir, log)).rejects.toThrow("in use by process 1 on another-host");
    writeLock(dir, { pid: 1, host: "another-host" }, 31_000);
    await (await lockSpoolDir(dir, log)).release();
  });

  it("lets exactly one of several ingests take over the same stale lock", async () => {
    const dir = scratchDir("spool-lock");
    writeLock(dir, { pid: await deadPid(), host: hostname() });
    // Separate processes: within one, the in-process registry would refuse the others first.
    const script = `
      import("${new URL("../dist/spool-lock.js", import.meta.url).href}").then(async ({ lockSpoolDir }) => {
        const log = { error() {} };
        try { await lockSpoolDir(process.argv[1], log); process.stdout.write("won"); setTimeout(() => {}, 3000); }
        catch (error) { process.stdout.write("refused"); }
      });`;
    const racers = Array.from({ length: 4 }, () =>
      spawn(process.execPath, ["--input-type=module", "-e", script, dir], { stdio: ["ignore", "pipe", "inherit"] }),
    );
    const said = await Promise.all(
      racers.map(
        (child) =>
          new Promise<string>((resolve) => {
            let out = "";
            child.stdout!.on("data", (chunk: Buffer) => {
              out += chunk.toString();
              if (out.length > 0) resolve(out);
            });
            child.once("exit", () => resolve(out));
          }),
      ),
    );
    for (const child of racers) child.kill("SIGKILL");
    expect(said.filter((s) => s === "won")).toHaveLength(1);
    expect(said.filter((s) => s === "refused")).toHaveLength(3);
  });
});
