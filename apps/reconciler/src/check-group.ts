import {
  applyRepairs,
  findStoredReceipts,
  messageKey,
  receiptDifferences,
  type Repair,
  type Skip,
} from "@receipt-sync/db";
import { NO_RECEIPT_CODE, receiptCountsSchema, receiptDetailSchema } from "@receipt-sync/protocol";
import { skipFor, stopFor, type DifferenceRow, type Failure, type PassContext, type Stop } from "./pass-types.js";

/** Readers of one message span one or two pages (at most 200 members); this only stops a runaway cursor. */
const MAX_DETAIL_PAGES = 10;

export type GroupResult = {
  checked: number;
  noReceipt: number;
  differences: DifferenceRow[];
  repaired: number;
  skips: Skip[];
  stop?: Stop;
};

/**
 * Fetches the counts of `seqs` in batches, the readers only where our row is missing or differs,
 * and merges Tencent's answer into the tables batch by batch (unless this is a dry run).
 */
export async function checkGroup(
  ctx: PassContext,
  groupId: string,
  groupType: string,
  seqs: readonly number[],
): Promise<GroupResult> {
  const result: GroupResult = { checked: 0, noReceipt: 0, differences: [], repaired: 0, skips: [] };
  for (let i = 0; i < seqs.length; i += ctx.receiptBatch) {
    const batch = seqs.slice(i, i + ctx.receiptBatch);
    const counts = await ctx.client.call(
      "get_group_msg_receipt",
      { GroupId: groupId, MsgSeqList: batch.map((MsgSeq) => ({ MsgSeq })) },
      receiptCountsSchema,
      ctx.signal,
    );
    if (!counts.ok) {
      if (settle(result, counts, groupId, counts.kind === "group_gone" ? [null] : batch)) return result;
      continue;
    }
    const stored = await findStoredReceipts(
      ctx.db,
      ctx.sdkAppId,
      batch.map((msgSeq) => ({ groupId, msgSeq })),
    );
    const repairs: Repair[] = [];
    const rows: DifferenceRow[] = [];
    for (const item of counts.value.GroupMsgReceiptList) {
      if (item.Code === NO_RECEIPT_CODE) {
        result.noReceipt += 1;
        continue;
      }
      if (item.Code !== 0) {
        result.skips.push({
          groupId,
          msgSeq: item.MsgSeq,
          api: "get_group_msg_receipt",
          errorCode: item.Code,
          errorInfo: "per-message Code",
        });
        continue;
      }
      result.checked += 1;
      const ours = stored.get(messageKey(groupId, item.MsgSeq));
      // Counts that agree with a reader list of the same size need no detail call.
      if (
        ours &&
        ours.readNum === item.ReadNum &&
        ours.unreadNum === item.UnreadNum &&
        ours.readers.length === item.ReadNum
      )
        continue;
      const readers =
        item.ReadNum === 0
          ? { ok: true as const, accounts: [], sentAtMs: counts.sentAtMs }
          : await fetchReaders(ctx, groupId, item.MsgSeq);
      if (!readers.ok) {
        if (settle(result, readers, groupId, [readers.kind === "group_gone" ? null : item.MsgSeq]))
          return flush(ctx, result, repairs, rows);
        continue;
      }
      const theirs = { readNum: item.ReadNum, unreadNum: item.UnreadNum, readers: readers.accounts };
      const differences = receiptDifferences(ours, theirs);
      if (differences.length === 0) continue;
      const countsDiffer = differences.some((d) => d !== "readers");
      rows.push({ groupId, msgSeq: item.MsgSeq, differences, ours, theirs, repaired: false });
      repairs.push({
        groupId,
        msgSeq: item.MsgSeq,
        groupType,
        fetchedAtMs: counts.sentAtMs,
        ...(countsDiffer ? { counts: { readNum: item.ReadNum, unreadNum: item.UnreadNum } } : {}),
        readers: readers.accounts,
        readersFetchedAtMs: readers.sentAtMs,
      });
    }
    await flush(ctx, result, repairs, rows);
  }
  return result;
}

/** Records a failed call: true when the group is done with (stopped, or gone). */
function settle(result: GroupResult, failure: Failure, groupId: string, seqs: (number | null)[]): boolean {
  const stop = stopFor(failure);
  if (stop) {
    result.stop = stop;
    return true;
  }
  for (const seq of seqs) result.skips.push(skipFor(failure, groupId, seq));
  return failure.kind === "group_gone";
}

async function flush(
  ctx: PassContext,
  result: GroupResult,
  repairs: Repair[],
  rows: DifferenceRow[],
): Promise<GroupResult> {
  if (rows.length === 0) return result;
  if (!ctx.dryRun) {
    const applied = new Set(
      (await applyRepairs(ctx.db, ctx.sdkAppId, repairs)).map((a) => messageKey(a.groupId, a.msgSeq)),
    );
    for (const row of rows) row.repaired = applied.has(messageKey(row.groupId, row.msgSeq));
    result.repaired += applied.size;
  }
  result.differences.push(...rows);
  rows.length = 0;
  repairs.length = 0;
  return result;
}

/** Every reader of one message: pages until the finished flag (either spelling), an empty cursor or a short page. */
async function fetchReaders(
  ctx: PassContext,
  groupId: string,
  msgSeq: number,
): Promise<{ ok: true; accounts: string[]; sentAtMs: number } | Failure> {
  const accounts: string[] = [];
  let cursor = "";
  let sentAtMs = 0;
  for (let page = 0; page < MAX_DETAIL_PAGES; page++) {
    const body = { GroupId: groupId, MsgSeq: msgSeq, Filter: 0, Cursor: cursor, Count: ctx.detailPageSize };
    const detail = await ctx.client.call("get_group_msg_receipt_detail", body, receiptDetailSchema, ctx.signal);
    if (!detail.ok) return detail;
    // The last page's time: every reader listed had read by then.
    sentAtMs = detail.sentAtMs;
    accounts.push(...detail.value.accounts);
    if (
      detail.value.finished === true ||
      detail.value.cursor === "" ||
      detail.value.accounts.length < ctx.detailPageSize
    )
      break;
    cursor = detail.value.cursor;
  }
  return { ok: true, accounts, sentAtMs };
}
