import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, query, REPO_ROOT, type TestDatabase } from "@receipt-sync/testing";

/** `npm run prune` as an operator runs it, against a database of its own. */
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
  await query(
    db.url,
    `INSERT INTO group_message_receipts VALUES (1400000001, 'g', 1, 'Public', 1, 0, now() - interval '40 days', now()), (1400000001, 'g', 2, 'Public', 1, 0, now() - interval '2 days', now());
     INSERT INTO group_message_readers VALUES (1400000001, 'g', 1, 'a', now() - interval '40 days'), (1400000001, 'g', 2, 'a', now() - interval '2 days');
     INSERT INTO read_receipt_events VALUES (1400000001, 'g', 1, now() - interval '40 days', now(), NULL, NULL), (1400000001, 'g', 2, now() - interval '2 days', now(), NULL, NULL)`,
  );
});
afterAll(() => db?.drop());

function prune(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, ["packages/db/dist/prune-cli.js", ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, DATABASE_URL: db.url, ...env },
    encoding: "utf8",
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("npm run prune", () => {
  it("does nothing without RETENTION_DAYS or --days, and says so", () => {
    const { status, stderr } = prune([]);
    expect(status).toBe(2);
    expect(stderr).toMatch(/^nothing to do: RETENTION_DAYS is unset \(keep for ever\) and no --days was given/);
  });

  it("prunes what is older than RETENTION_DAYS and prints what it deleted per table", async () => {
    const { status, stdout } = prune([], { RETENTION_DAYS: "30" });
    expect(status).toBe(0);
    expect(stdout).toMatch(/read_receipt_events\W+1\b/);
    expect(stdout).toMatch(/group_message_receipts\W+1\b/);
    expect(stdout).toMatch(/^done after \d+ batches/m);
    expect(
      await query(
        db.url,
        "SELECT msg_seq::int AS seq FROM group_message_receipts UNION ALL SELECT msg_seq::int FROM read_receipt_events",
      ),
    ).toEqual([{ seq: 2 }, { seq: 2 }]);
  });

  it("takes --days over RETENTION_DAYS and explains a bad argument", async () => {
    expect(prune(["--days", "1"], { RETENTION_DAYS: "30" }).status).toBe(0);
    expect(await query(db.url, "SELECT count(*)::int AS n FROM group_message_receipts")).toEqual([{ n: 0 }]);
    const bad = prune(["--days", "0"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^--days must be a whole number from 1/);
  });
});
