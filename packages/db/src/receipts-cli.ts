// `npm run receipts -- --app <SdkAppid> --group <GroupId> [--seq <MsgSeq>] [--limit N] [--json]`
import { parseCliArgs, usageError } from "@receipt-sync/runtime";
import { loadCliConfig } from "./load-cli-config.js";
import { createDatabase } from "./create-database.js";
import { findReceipts } from "./find-receipts.js";

const USAGE = "usage: npm run receipts -- --app <SdkAppid> --group <GroupId> [--seq <MsgSeq>] [--limit N] [--json]";

const fail: (message: string) => never = usageError(USAGE);
const { values } = parseCliArgs(
  {
    app: { type: "string" },
    group: { type: "string" },
    seq: { type: "string" },
    limit: { type: "string" },
    json: { type: "boolean" },
  },
  USAGE,
);
const { app, group, seq, limit, json } = values;
if (!app || !/^[0-9]{1,18}$/.test(app)) fail("--app must be a numeric SdkAppid");
if (!group) fail("--group is required");
if (seq !== undefined && !/^[0-9]{1,19}$/.test(seq)) fail("--seq must be a MsgSeq (a whole number)");
if (limit !== undefined && !/^[1-9][0-9]{0,4}$/.test(limit)) fail("--limit must be a whole number from 1");
const { DATABASE_URL: databaseUrl } = loadCliConfig();

const db = createDatabase({ databaseUrl, poolMax: 1 });
try {
  const receipts = await findReceipts(db, {
    sdkAppId: app,
    groupId: group,
    msgSeq: seq,
    limit: limit ? Number(limit) : undefined,
  });
  if (json) {
    console.log(JSON.stringify(receipts, null, 2));
  } else if (receipts.length === 0) {
    console.log(`no receipts for app ${app}, group ${group}${seq ? `, MsgSeq ${seq}` : ""}`);
  } else {
    console.table(receipts.map(({ readers, ...counts }) => ({ ...counts, readers: readers.length })));
    for (const receipt of receipts) {
      if (receipt.readers.length === 0) continue;
      console.log(`\nMsgSeq ${receipt.msgSeq}: read by`);
      console.table(receipt.readers);
    }
  }
} catch (error) {
  console.error(`receipts failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  await db.$disconnect();
}
