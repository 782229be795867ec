import { spawn, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { appCommand } from "../../../scripts/app-command.mjs";
import { waitFor } from "./wait-for.js";
import { scratchDir } from "./scratch-dir.js";

export const REPO_ROOT = fileURLToPath(new URL("../../..", import.meta.url));

export type RunningApp = {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the exit code once the process has ended by itself. */
  exited: Promise<number | null>;
  /** Sends `signal` (if still running) and resolves with the exit code. */
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
};

/** Asks the kernel for a free loopback port. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

/** The node command line of each app as its start script runs it (see scripts/app-command.mjs). */
export { appCommand };

// Apps still running when the test process exits (a test that failed before its cleanup, a
// timeout) are killed with it rather than left listening, holding ports and spool locks.
const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/**
 * Starts a built app exactly as `npm run start:<name>` does, with only the given env (and
 * `nodeFlags` added to the script's own, e.g. `--cpu-prof`, see appCommand). Without a SPOOL_DIR in `env` it gets a
 * spool directory of its own, removed when the process exits.
 */
export function startApp(
  name: "ingest" | "worker" | "reconciler",
  env: Record<string, string>,
  nodeFlags: readonly string[] = [],
): RunningApp {
  let output = "";
  const ownSpoolDir = env.SPOOL_DIR === undefined ? scratchDir("spool") : undefined;
  const child = spawn(process.execPath, appCommand(name, nodeFlags), {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      LOG_LEVEL: "warn",
      ...(ownSpoolDir ? { SPOOL_DIR: ownSpoolDir } : {}),
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  child.once("exit", () => running.delete(child));
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      if (ownSpoolDir) rmSync(ownSpoolDir, { recursive: true, force: true });
      resolve(code);
    }),
  );
  return {
    child,
    output: () => output,
    exited,
    stop: async (signal = "SIGTERM") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/**
 * Resolves once the app has logged `message` (a pino `msg`, e.g. "worker ready"); start it with
 * LOG_LEVEL=info for info lines. Fails if the app exits first.
 */
export async function waitForLog(app: RunningApp, message: string, timeoutMs = 30_000): Promise<void> {
  const line = `"msg":${JSON.stringify(message)}`;
  await waitFor(
    `${message} in the app's log`,
    () => {
      if (app.child.exitCode !== null)
        throw new Error(`exited with ${app.child.exitCode}: ${app.output().slice(-500)}`);
      return app.output().includes(line);
    },
    { timeoutMs, intervalMs: 20 },
  );
}

/** Resolves once `url` answers 200. */
export async function waitForHttp(url: string, timeoutMs = 15_000): Promise<void> {
  await waitFor(`${url} to answer 200`, async () => (await fetch(url)).status === 200, { timeoutMs, intervalMs: 50 });
}
