import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  APP_ID,
  callbackQuery,
  receiptBody,
  REPO_ROOT,
  scratchDir,
  type Stack,
  startStack,
  type TestDatabase,
  waitFor,
} from "@receipt-sync/testing";

/** The operator's tools against the real processes: replay recorded callbacks, then inspect them. */
let stack: Stack;
let db: TestDatabase;
let callbackUrl: string;

beforeAll(async () => {
  stack = await startStack();
  db = stack.db;
  callbackUrl = `${stack.base}/callback`;
});
afterAll(() => stack?.stop());

function run(script: string, args: string[]) {
  const result = spawnSync(process.execPath, [script, ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, DATABASE_URL: db.url },
    encoding: "utf8",
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const receipts = (...args: string[]) => run("packages/db/dist/receipts-cli.js", args);

describe("npm run replay", () => {
  it("posts every recorded callback and reports the lines it could not send", async () => {
    const file = join(scratchDir("replay"), "callbacks.jsonl");
    const lines = Array.from({ length: 20 }, (_, i) =>
      JSON.stringify({
        query: i % 2 === 0 ? callbackQuery() : Object.fromEntries(new URLSearchParams(callbackQuery())),
        body: receiptBody({
          groupId: "ops",
          eventTimeMs: 1_700_000_000_000 + i,
          messages: [{ seq: i, read: 1 + (i % 3), unread: 5, readers: [`reader${i}`, "张三"] }],
        }),
      }),
    );
    writeFileSync(file, `${lines.join("\n")}\nnot json\n`);
    const result = run("apps/ingest/dist/replay-cli.js", [file, "--url", callbackUrl, "--concurrency", "4"]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("[##############################] 21/21 lines: 20 ok, 0 failed, 1 invalid");
    expect(result.stderr).toContain("line 21: not a {query, body} record");
    await waitFor("replayed rows", () => {
      const listed = JSON.parse(receipts("--app", APP_ID, "--group", "ops", "--json").stdout) as unknown[];
      return listed.length === 20;
    });
  });
});

describe("npm run receipts", () => {
  it("prints one message's counts and who read it when, as JSON", () => {
    const { status, stdout } = receipts("--app", APP_ID, "--group", "ops", "--seq", "7", "--json");
    expect(status).toBe(0);
    expect(JSON.parse(stdout)).toEqual([
      {
        msgSeq: "7",
        groupType: "Public",
        readNum: 2,
        unreadNum: 5,
        eventTime: new Date(1_700_000_000_007).toISOString(),
        updatedAt: expect.any(String),
        readers: [
          { memberAccount: "reader7", readAt: new Date(1_700_000_000_007).toISOString() },
          { memberAccount: "张三", readAt: new Date(1_700_000_000_007).toISOString() },
        ],
      },
    ]);
  });

  it("prints a table per group, newest message first, and the readers of each", () => {
    const { status, stdout } = receipts("--app", APP_ID, "--group", "ops", "--limit", "2");
    expect(status).toBe(0);
    expect(stdout.indexOf("'19'")).toBeGreaterThan(-1);
    expect(stdout.indexOf("'19'")).toBeLessThan(stdout.indexOf("'18'"));
    expect(stdout).toContain("MsgSeq 19: read by");
    expect(stdout).toContain("reader19");
    expect(stdout).not.toContain("'17'");
  });

  it("says so when nothing matches, and explains bad arguments", () => {
    expect(receipts("--app", APP_ID, "--group", "nobody")).toMatchObject({
      status: 0,
      stdout: `no receipts for app ${APP_ID}, group nobody\n`,
    });
    expect(receipts("--group", "ops")).toMatchObject({
      status: 2,
      stderr: expect.stringContaining("--app must be a numeric SdkAppid"),
    });
    expect(receipts("--app", APP_ID, "--group", "ops", "--seq", "x")).toMatchObject({
      status: 2,
      stderr: expect.stringContaining("--seq must be"),
    });
  });
});
