import { spawn, spawnSync } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import {
  adminQuery,
  APP_ID,
  callbackQuery,
  dropQueue,
  freePort,
  openQueue,
  receiptBody,
  REPO_ROOT,
  scratchDir,
  TEST_REDIS_URL,
  uniqueName,
  uniquePrefix,
  waitFor,
} from "@receipt-sync/testing";

/** The one-machine front door: `SDKAPPID=… npm start` on a database that does not exist yet. */
const name = uniqueName("rs_start");
const prefix = uniquePrefix();
afterAll(async () => {
  await dropQueue(openQueue(prefix));
  await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
});

describe("npm start", () => {
  it("creates the database, migrates it, and stores a callback that npm run receipts then shows", async () => {
    const port = await freePort();
    const databaseUrl = `postgresql://postgres@127.0.0.1:5432/${name}`;
    const env = {
      PATH: process.env.PATH,
      SDKAPPID: APP_ID,
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: prefix,
      SPOOL_DIR: scratchDir("npm-start"),
    };
    const child = spawn("npm", ["start"], { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    try {
      await waitFor("the start line", () => output.includes(`post callbacks to http://127.0.0.1:${port}/callback`), {
        timeoutMs: 60_000,
        intervalMs: 100,
      });
      expect(output).toContain(`created database ${name}`);
      const body = receiptBody({
        groupId: "@npm-start",
        eventTimeMs: 1_700_000_000_000,
        messages: [{ seq: 42, read: 1, unread: 2, readers: ["alice"] }],
      });
      const reply = await waitFor(
        "the ingest to answer",
        async () => {
          const res = await fetch(`http://127.0.0.1:${port}/callback?${callbackQuery()}`, {
            method: "POST",
            body: JSON.stringify(body),
          }).catch(() => undefined);
          return res?.status === 200 && res;
        },
        { timeoutMs: 15_000 },
      );
      expect(reply.status).toBe(200);

      const shown = await waitFor("npm run receipts to show it", () => {
        const result = spawnSync(
          "npm",
          ["run", "--silent", "receipts", "--", "--app", APP_ID, "--group", "@npm-start", "--json"],
          { cwd: REPO_ROOT, env, encoding: "utf8" },
        );
        const rows =
          result.status === 0
            ? (JSON.parse(result.stdout) as { msgSeq: string; readers: { memberAccount: string }[] }[])
            : [];
        return rows.length > 0 && rows;
      });
      expect(shown).toMatchObject([{ msgSeq: "42", readNum: 1, unreadNum: 2, readers: [{ memberAccount: "alice" }] }]);
    } finally {
      if (child.exitCode === null) process.kill(-child.pid!, "SIGTERM");
      await new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once("exit", resolve)));
    }
  });
});
