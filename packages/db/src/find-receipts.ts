import type { Database } from "./create-database.js";

type MessageReceipt = {
  msgSeq: string;
  groupType: string;
  readNum: number;
  unreadNum: number;
  eventTime: string;
  updatedAt: string;
  readers: { memberAccount: string; readAt: string }[];
};

/** Counts and readers of a group's messages (one message when `msgSeq` is given), newest first. */
export async function findReceipts(
  db: Database,
  where: { sdkAppId: string; groupId: string; msgSeq?: string; limit?: number },
): Promise<MessageReceipt[]> {
  const key = {
    sdkAppId: BigInt(where.sdkAppId),
    groupId: where.groupId,
    ...(where.msgSeq ? { msgSeq: BigInt(where.msgSeq) } : {}),
  };
  const receipts = await db.groupMessageReceipt.findMany({
    where: key,
    orderBy: { msgSeq: "desc" },
    take: where.limit ?? 50,
  });
  if (receipts.length === 0) return [];
  const readers = await db.groupMessageReader.findMany({
    where: { sdkAppId: key.sdkAppId, groupId: key.groupId, msgSeq: { in: receipts.map((r) => r.msgSeq) } },
    orderBy: [{ readAt: "asc" }, { memberAccount: "asc" }],
  });
  const readersBySeq = new Map<bigint, MessageReceipt["readers"]>();
  for (const m of readers) {
    const list = readersBySeq.get(m.msgSeq) ?? [];
    list.push({ memberAccount: m.memberAccount, readAt: m.readAt.toISOString() });
    readersBySeq.set(m.msgSeq, list);
  }
  return receipts.map((r) => ({
    msgSeq: r.msgSeq.toString(),
    groupType: r.groupType,
    readNum: r.readNum,
    unreadNum: r.unreadNum,
    eventTime: r.eventTime.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
    readers: readersBySeq.get(r.msgSeq) ?? [],
  }));
}
