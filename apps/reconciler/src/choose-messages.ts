import type { ActiveGroup } from "@receipt-sync/db";
import { MAX_HISTORY_PAGE, historySchema } from "@receipt-sync/protocol";
import type { Failure, PassContext } from "./pass-types.js";

/** Bounds on what one pass reads of a group's history, so a huge group cannot eat the budget. */
const MAX_HISTORY_PAGES = 50;
const MAX_GAP_SEQS = 1000;

/**
 * The messages of one group to check:
 * - those with a receipt event in the window (`recentSeqs`);
 * - newer ones we never heard of: history paged from the newest (NextMsgSeq - 1) down to the
 *   newest we hold; skipped at no cost when NextMsgSeq says there is nothing newer;
 * - gaps between the ones we hold: every callback of such a message was lost. They go
 *   straight to get_group_msg_receipt, which answers 10062 for a message without a receipt;
 * - older ones in the window that we never heard of: history paged down from the oldest recent
 *   message until it reaches messages sent before the window.
 * Placeholder messages (expired, failed or deleted) are left out.
 */
export async function chooseMessages(
  ctx: PassContext,
  group: ActiveGroup,
  nextMsgSeq: number | undefined,
): Promise<{ ok: true; seqs: number[] } | Failure> {
  const chosen = new Set(group.recentSeqs);
  const newestOnline = nextMsgSeq === undefined ? undefined : nextMsgSeq - 1;

  if (newestOnline !== undefined && newestOnline > group.newestSeq) {
    const newer = await pageHistory(ctx, group.groupId, newestOnline, (seq) => seq <= group.newestSeq);
    if (!newer.ok) return newer;
    for (const seq of newer.seqs) chosen.add(seq);
  }

  let gaps = 0;
  for (let i = 1; i < group.knownSeqs.length && gaps < MAX_GAP_SEQS; i++) {
    for (let seq = group.knownSeqs[i - 1]! + 1; seq < group.knownSeqs[i]! && gaps < MAX_GAP_SEQS; seq++, gaps++)
      chosen.add(seq);
  }

  const oldestRecent = group.recentSeqs[0];
  if (oldestRecent !== undefined && oldestRecent > 1) {
    const older = await pageHistory(ctx, group.groupId, oldestRecent - 1, () => false);
    if (!older.ok) return older;
    for (const seq of older.seqs) chosen.add(seq);
  }
  return { ok: true, seqs: [...chosen].sort((a, b) => a - b) };
}

/** Pages group_msg_get_simple down from `fromSeq` until `done(seq)`, the window's start or the end. */
async function pageHistory(
  ctx: PassContext,
  groupId: string,
  fromSeq: number,
  done: (seq: number) => boolean,
): Promise<{ ok: true; seqs: number[] } | Failure> {
  const seqs: number[] = [];
  let top = fromSeq;
  for (let page = 0; page < MAX_HISTORY_PAGES && top >= 1; page++) {
    const result = await ctx.client.call(
      "group_msg_get_simple",
      { GroupId: groupId, ReqMsgNumber: MAX_HISTORY_PAGE, ReqMsgSeq: top },
      historySchema,
      ctx.signal,
    );
    if (!result.ok) return result;
    const messages = result.value.RspMsgList;
    for (const message of messages) {
      const beforeWindow = message.MsgTimeStamp !== undefined && message.MsgTimeStamp * 1000 < ctx.sinceMs;
      if (done(message.MsgSeq) || beforeWindow) return { ok: true, seqs };
      if (!message.IsPlaceMsg) seqs.push(message.MsgSeq);
    }
    if (messages.length === 0 || result.value.IsFinished) break;
    top = Math.min(...messages.map((m) => m.MsgSeq)) - 1;
  }
  return { ok: true, seqs };
}
