import type { Database } from "./create-database.js";

/** Something the reconciler gave up on: a whole group (msgSeq null) or one message. */
export type Skip = { groupId: string; msgSeq: number | null; api: string; errorCode: number; errorInfo: string };

export async function recordSkips(
  db: Database,
  sdkAppId: string,
  skips: readonly Skip[],
  nowMs: number,
): Promise<void> {
  if (skips.length === 0) return;
  await db.reconcileSkip.createMany({
    data: skips.map((s) => ({
      sdkAppId: BigInt(sdkAppId),
      groupId: s.groupId,
      msgSeq: s.msgSeq === null ? null : BigInt(s.msgSeq),
      api: s.api,
      errorCode: s.errorCode,
      errorInfo: s.errorInfo.slice(0, 500),
      skippedAt: new Date(nowMs),
    })),
  });
}
