// `npm start`: ingest and worker side by side on one machine. Each keeps its own process (and
// so its own event loop); a signal reaches both, and when either exits the other is stopped.
import { spawn } from "node:child_process";

// The same command lines as `npm run start:ingest` and `npm run start:worker`.
const apps = [["apps/ingest/dist/main.js"], ["--max-old-space-size=192", "apps/worker/dist/main.js"]];
const children = apps.map((args) => spawn(process.execPath, args, { stdio: "inherit" }));
let exitCode = 0;
let stopping = false;

const stopAll = (signal) => {
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill(signal);
};

for (const child of children) {
  child.on("exit", (code, signal) => {
    if (code !== 0 || signal) exitCode = code ?? 1;
    if (!stopping) stopAll("SIGTERM");
    if (children.every((c) => c.exitCode !== null || c.signalCode !== null)) process.exit(exitCode);
  });
}
process.on("SIGTERM", () => stopAll("SIGTERM"));
process.on("SIGINT", () => stopAll("SIGINT"));
