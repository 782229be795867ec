import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { waitFor } from "./wait-for.js";

export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));

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
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** Starts a built app (`apps/<name>/dist/main.js`) as its own process with only the given env. */
export function startApp(name: "ingest" | "worker", env: Record<string, string>): RunningApp {
  let output = "";
  const child = spawn(process.execPath, [`apps/${name}/dist/main.js`], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? "", LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
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

/** Resolves once `url` answers 200. */
export async function waitForHttp(url: string, timeoutMs = 15_000): Promise<void> {
  await waitFor(`${url} to answer 200`, async () => (await fetch(url)).status === 200, { timeoutMs, intervalMs: 50 });
}
