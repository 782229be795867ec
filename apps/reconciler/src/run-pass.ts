import {
  findActiveGroups,
  findGroupSummary,
  recordSkips,
  type ActiveGroup,
  type Database,
  type Skip,
} from "@receipt-sync/db";
import { MAX_DETAIL_PAGE, MAX_GROUP_INFO_IDS, groupInfoSchema, type RestApi } from "@receipt-sync/protocol";
import { checkGroup, type GroupResult } from "./check-group.js";
import { chooseMessages } from "./choose-messages.js";
import { skipFor, stopFor, type DifferenceRow, type PassContext, type PassEvents, type Stop } from "./pass-types.js";
import type { TencentClient } from "./tencent-client.js";

export type PassOptions = {
  sdkAppId: string;
  sinceMs: number;
  /** Only this group; with `msgSeq`, only that message. */
  groupId?: string;
  msgSeq?: number;
  dryRun?: boolean;
  receiptBatch?: number;
  groupsInFlight?: number;
  /** Readers per get_group_msg_receipt_detail page (Tencent's maximum unless a test says otherwise). */
  detailPageSize?: number;
  signal?: AbortSignal;
  onProgress?: (progress: { groupsDone: number; groups: number; checked: number; differences: number }) => void;
};

export type PassReport = {
  sdkAppId: string;
  dryRun: boolean;
  startedAt: string;
  durationMs: number;
  groups: number;
  /** Messages with a receipt whose counts were compared. */
  checked: number;
  /** Messages Tencent says have no receipt (Code 10062). */
  noReceipt: number;
  differences: DifferenceRow[];
  repaired: number;
  skips: Skip[];
  /** REST calls made, by API (every try counts). */
  calls: Partial<Record<RestApi, number>>;
  stopped?: Stop;
};

type PassDeps = { db: Database; client: TencentClient; nowMs: () => number; events?: PassEvents };

type GroupPlan = { group: ActiveGroup; nextMsgSeq: number | undefined };

/** One reconcile pass over one app: choose, fetch, compare, repair, record. */
export async function runPass(deps: PassDeps, options: PassOptions): Promise<PassReport> {
  const startedAtMs = deps.nowMs();
  const callsBefore = { ...deps.client.attempts };
  // A stop (configuration error, an API that keeps refusing) also ends the calls other groups
  // have in flight or waiting for the budget, instead of letting each spend its own retries.
  const stopping = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stopping.signal]) : stopping.signal;
  const ctx: PassContext = {
    db: deps.db,
    client: deps.client,
    sdkAppId: options.sdkAppId,
    sinceMs: options.sinceMs,
    dryRun: options.dryRun ?? false,
    receiptBatch: options.receiptBatch ?? 20,
    detailPageSize: options.detailPageSize ?? MAX_DETAIL_PAGE,
    signal,
    events: deps.events ?? {},
  };
  const report: PassReport = {
    sdkAppId: options.sdkAppId,
    dryRun: ctx.dryRun,
    startedAt: new Date(startedAtMs).toISOString(),
    durationMs: 0,
    groups: 0,
    checked: 0,
    noReceipt: 0,
    differences: [],
    repaired: 0,
    skips: [],
    calls: {},
  };

  const groups = await groupsToCheck(ctx, options);
  report.groups = groups.length;
  const plans = await planGroups(ctx, groups, report);
  let groupsDone = 0;
  await eachInPool(plans, options.groupsInFlight ?? 4, async (plan) => {
    if (signal.aborted) return;
    let result: GroupResult;
    try {
      result = await reconcileGroup(ctx, plan, options.msgSeq);
    } catch (error) {
      if (stopping.signal.aborted && !options.signal?.aborted) return; // cut short by another group's stop
      throw error;
    }
    addUp(report, result, ctx.events);
    if (report.stopped) stopping.abort(new Error("pass stopped"));
    groupsDone += 1;
    options.onProgress?.({
      groupsDone,
      groups: plans.length,
      checked: report.checked,
      differences: report.differences.length,
    });
  });

  if (!ctx.dryRun) await recordSkips(deps.db, options.sdkAppId, report.skips, deps.nowMs());
  for (const [api, n] of Object.entries(deps.client.attempts)) {
    const made = n - (callsBefore[api as RestApi] ?? 0);
    if (made > 0) report.calls[api as RestApi] = made;
  }
  report.durationMs = deps.nowMs() - startedAtMs;
  return report;
}

/** Groups with events in the window; a group named by hand is checked even without. */
async function groupsToCheck(ctx: PassContext, options: PassOptions): Promise<ActiveGroup[]> {
  const active = await findActiveGroups(ctx.db, {
    sdkAppId: ctx.sdkAppId,
    sinceMs: ctx.sinceMs,
    groupId: options.groupId,
  });
  if (options.groupId === undefined || active.length > 0) return active;
  const held = await findGroupSummary(ctx.db, { sdkAppId: ctx.sdkAppId, groupId: options.groupId });
  return [
    {
      groupId: options.groupId,
      groupType: held?.groupType ?? "",
      newestSeq: held?.newestSeq ?? 0,
      recentSeqs: [],
      knownSeqs: [],
    },
  ];
}

/** get_group_info for every group, 50 at a time: NextMsgSeq (anything new?), the type, or gone. */
async function planGroups(ctx: PassContext, groups: ActiveGroup[], report: PassReport): Promise<GroupPlan[]> {
  const plans: GroupPlan[] = [];
  for (let i = 0; i < groups.length && !report.stopped; i += MAX_GROUP_INFO_IDS) {
    const chunk = groups.slice(i, i + MAX_GROUP_INFO_IDS);
    const body = {
      GroupIdList: chunk.map((g) => g.groupId),
      ResponseFilter: { GroupBaseInfoFilter: ["Type", "NextMsgSeq", "LastMsgTime"] },
    };
    const info = await ctx.client.call("get_group_info", body, groupInfoSchema, ctx.signal);
    if (!info.ok) {
      report.stopped = stopFor(info);
      if (!report.stopped) for (const g of chunk) report.skips.push(skipFor(info, g.groupId, null));
      continue;
    }
    const byId = new Map(info.value.GroupInfo.map((g) => [g.GroupId, g]));
    for (const group of chunk) {
      const found = byId.get(group.groupId);
      if (found && found.ErrorCode !== 0) {
        report.skips.push({
          groupId: group.groupId,
          msgSeq: null,
          api: "get_group_info",
          errorCode: found.ErrorCode,
          errorInfo: found.ErrorInfo,
        });
        continue;
      }
      // The type our callbacks stored wins: the merge would otherwise rename it (Private/Work).
      plans.push({
        group: { ...group, groupType: group.groupType || found?.Type || "Unknown" },
        nextMsgSeq: found?.NextMsgSeq,
      });
    }
  }
  return plans;
}

async function reconcileGroup(
  ctx: PassContext,
  { group, nextMsgSeq }: GroupPlan,
  msgSeq: number | undefined,
): Promise<GroupResult> {
  const chosen =
    msgSeq !== undefined ? { ok: true as const, seqs: [msgSeq] } : await chooseMessages(ctx, group, nextMsgSeq);
  if (!chosen.ok) {
    const stop = stopFor(chosen);
    return {
      checked: 0,
      noReceipt: 0,
      differences: [],
      repaired: 0,
      skips: stop ? [] : [skipFor(chosen, group.groupId, null)],
      stop,
    };
  }
  return checkGroup(ctx, group.groupId, group.groupType, chosen.seqs);
}

function addUp(report: PassReport, result: GroupResult, events: PassEvents): void {
  report.checked += result.checked;
  report.noReceipt += result.noReceipt;
  report.differences.push(...result.differences);
  report.repaired += result.repaired;
  report.skips.push(...result.skips);
  report.stopped ??= result.stop;
  events.checked?.(result.checked);
  events.differences?.(result.differences);
  events.repaired?.(result.repaired);
  events.skipped?.(result.skips);
}

/** Runs `work` over `items` with at most `limit` at once; the budget still spaces their calls. */
async function eachInPool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(runners);
}
