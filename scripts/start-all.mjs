// `npm start`: one command for one machine. Builds what is stale, creates the database if it
// does not exist and applies the migrations, then runs the ingest and a worker side by side.
// Each keeps its own process (and so its own event loop); a signal reaches both, and when
// either exits the other is stopped.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { appCommand } from "./app-command.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/receipts";

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

// The Prisma client is generated only when missing or older than the schema; `tsc -b` is
// incremental and returns at once when nothing changed.
const generated = `${root}packages/db/src/generated/prisma/client.ts`;
if (!existsSync(generated) || statSync(generated).mtimeMs < statSync(`${root}prisma/schema.prisma`).mtimeMs) {
  run(process.execPath, ["packages/db/scripts/prisma.mjs", "generate"]);
}
run(process.execPath, ["node_modules/typescript/bin/tsc", "-b"]);

const databaseUrl = process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
const { ensureDatabase, migrate } = await import("../packages/db/dist/index.js");
try {
  if (await ensureDatabase(databaseUrl)) console.log(`created database ${new URL(databaseUrl).pathname.slice(1)}`);
  const result = await migrate({ databaseUrl });
  console.log(`migrations: ${result.applied.length} applied, ${result.alreadyApplied.length} already applied`);
} catch (error) {
  console.error(
    `cannot prepare the database at ${new URL(databaseUrl).host}: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
}

const env = { ...process.env, DATABASE_URL: databaseUrl };
// As each app's own start script runs it (apps/*/package.json), heap flags included.
const apps = [appCommand("ingest"), appCommand("worker")];
const children = apps.map((args) => spawn(process.execPath, args, { cwd: root, env, stdio: "inherit" }));
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
console.log(
  `receipt-sync: post callbacks to http://127.0.0.1:${process.env.PORT || 3000}${process.env.CALLBACK_PATH || "/callback"}; ` +
    `receipts land in ${databaseUrl.replace(/\/\/[^@/]*@/, "//")}`,
);
