import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { query, receiptPacket, REPO_ROOT, useTestDatabase } from "@receipt-sync/testing";
import { toWire } from "@receipt-sync/protocol";
import { quarantineCallbacks } from "./quarantine.js";
import { createDatabase } from "./create-database.js";

const database = useTestDatabase(createDatabase, {
  poolMax: 1,
  truncate: ["quarantined_callbacks", "group_message_receipts"],
});

function quarantine(...args: string[]) {
  const result = spawnSync(process.execPath, ["packages/db/dist/quarantine-cli.js", ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, DATABASE_URL: database.url },
    encoding: "utf8",
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("quarantineCallbacks", () => {
  it("keeps any value as received, even text Postgres could not hold as jsonb", async () => {
    const odd = { GroupId: "x\ud800", note: "a\u0000b", deep: JSON.parse(`${"[".repeat(200)}${"]".repeat(200)}`) };
    await quarantineCallbacks(database.db, [
      { raw: odd, reason: "invalid_payload", error: "bad \ud800 text\u0000", sqlState: null },
      { raw: "a torn spool line", reason: "invalid_payload", error: "not JSON", sqlState: null },
      { raw: undefined, reason: "invalid_payload", error: "no data", sqlState: null },
    ]);
    const rows = await query<{ payload: unknown; payload_text: string; error: string }>(
      database.url,
      "SELECT payload, payload_text, error FROM quarantined_callbacks ORDER BY error",
    );
    expect(rows.map((r) => JSON.parse(r.payload_text))).toEqual([odd, null, "a torn spool line"]);
    expect(rows.map((r) => r.payload)).toEqual([null, null, "a torn spool line"]);
    expect(rows.map((r) => r.error)).toEqual(["bad \ufffd text\\u0000", "no data", "not JSON"]);
  });
});

describe("npm run quarantine", () => {
  it("lists, retries with the current code, and purges", async () => {
    // One that an older version refused but this one can write, one that no version can.
    const fixable = receiptPacket({
      groupId: "q-fixed",
      eventTimeMs: 7,
      messages: [{ seq: 1, read: 1, unread: 0, readers: ["a"] }],
    });
    const hopeless = { sdkAppId: "1400000001", receipt: { GroupId: "q-bad" } };
    await quarantineCallbacks(database.db, [
      { raw: fixable, reason: "rejected_by_database", error: "an older bug", sqlState: "21000" },
      { raw: hopeless, reason: "invalid_payload", error: "receipt: missing fields", sqlState: null },
    ]);

    const listed = quarantine("list", "--json");
    expect(listed.status).toBe(0);
    const rows = JSON.parse(listed.stdout) as { id: string; reason: string; attempts: number; payloadText: string }[];
    expect(rows.map((r) => [r.reason, r.attempts, JSON.parse(r.payloadText)]).sort()).toEqual([
      ["invalid_payload", 1, hopeless],
      ["rejected_by_database", 1, fixable],
    ]);
    const hopelessId = rows.find((r) => r.reason === "invalid_payload")!.id;
    expect(quarantine("list").stdout).toContain("rejected_by_database");

    const retried = quarantine("retry");
    expect(retried.status).toBe(1); // one is still quarantined
    expect(retried.stdout).toContain("applied 1 of 2");
    expect(retried.stdout).toContain(`${hopelessId}: still invalid`);
    expect(await query(database.url, "SELECT read_num FROM group_message_receipts WHERE group_id = 'q-fixed'")).toEqual(
      [{ read_num: 1 }],
    );
    expect(await query(database.url, "SELECT id::text, attempts FROM quarantined_callbacks")).toEqual([
      { id: hopelessId, attempts: 2 },
    ]);

    expect(quarantine("purge", hopelessId).stdout).toContain("purged 1");
    expect(quarantine("list").stdout).toContain("no quarantined callbacks");
  });

  it("retries every quarantined callback, however many there are", async () => {
    const many = Array.from({ length: 1203 }, (_, i) =>
      receiptPacket({ groupId: "q-many", eventTimeMs: 10 + i, messages: [{ seq: i, read: 1, unread: 0 }] }),
    );
    await quarantineCallbacks(
      database.db,
      many.map((raw) => ({ raw, reason: "rejected_by_database", error: "a server fault", sqlState: "XX002" })),
    );
    const retried = quarantine("retry");
    expect(retried).toMatchObject({ status: 0, stdout: expect.stringContaining("applied 1203 of 1203") });
    expect(await query(database.url, "SELECT count(*)::int AS n FROM quarantined_callbacks")).toEqual([{ n: 0 }]);
  });

  it("retries a whole job an older worker could not read, and keeps its invalid callbacks on their own", async () => {
    // An older worker meeting a job of rows (a rolling upgrade with the ingest upgraded first)
    // quarantines the job's data as it is.
    const packets = [1, 2, 3, 4].map((seq) =>
      receiptPacket({ groupId: "q-job", eventTimeMs: 20, messages: [{ seq, read: 1, unread: 0, readers: ["a"] }] }),
    );
    const rows = packets.map(toWire);
    const broken = [rows[3], "a torn row"];
    await quarantineCallbacks(database.db, [
      {
        raw: { rows: rows.slice(0, 3), packetSchema: "1:x" },
        reason: "invalid_payload",
        error: "job 1",
        sqlState: null,
      },
      { raw: { rows: broken }, reason: "invalid_payload", error: "job 2", sqlState: null },
    ]);
    const retried = quarantine("retry");
    expect(retried.stdout).toContain("applied 1 of 2");
    expect(retried.stdout).toContain(
      "split: applied 1 of 2 callbacks; kept 1 in quarantine on their own: callback 2 of 2",
    );
    expect(
      await query(database.url, "SELECT msg_seq::int FROM group_message_receipts WHERE group_id = 'q-job' ORDER BY 1"),
    ).toEqual([1, 2, 3, 4].map((msg_seq) => ({ msg_seq })));
    expect(await query(database.url, "SELECT payload, reason FROM quarantined_callbacks")).toEqual([
      { payload: "a torn row", reason: "invalid_payload" },
    ]);
    // What is left is one callback that no version can write.
    expect(quarantine("retry").stdout).toContain("still invalid");
  });

  it("explains bad arguments", () => {
    expect(quarantine().status).toBe(2);
    expect(quarantine("retry", "abc")).toMatchObject({ status: 2, stderr: expect.stringContaining("whole numbers") });
  });
});
