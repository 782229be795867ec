import type { ReceiptPacket } from "@receipt-sync/protocol";

/** The merged state one batch contributes per message, ready for set-based SQL. */
export type ReceiptRows = {
  receipts: ReceiptRow[];
  readers: ReaderRow[];
  events: EventRow[];
};

export type ReceiptRow = {
  sdkAppId: string;
  groupId: string;
  msgSeq: number;
  groupType: string;
  readNum: number;
  unreadNum: number;
  eventTimeMs: number;
};

export type ReaderRow = { sdkAppId: string; groupId: string; msgSeq: number; memberAccount: string; readAtMs: number };

export type EventRow = {
  sdkAppId: string;
  groupId: string;
  msgSeq: number;
  eventTimeMs: number;
  receivedAtMs: number;
  clientIp: string | null;
  optPlatform: string | null;
};

/**
 * The order in which count snapshots supersede each other: newer EventTime first; for events
 * of the same millisecond, the one that saw more readers (then fewer unread). The SQL upsert
 * uses the same order, so applying events in any order, any number of times, ends the same.
 */
export function isNewerSnapshot(a: ReceiptRow, b: ReceiptRow): boolean {
  if (a.eventTimeMs !== b.eventTimeMs) return a.eventTimeMs > b.eventTimeMs;
  if (a.readNum !== b.readNum) return a.readNum > b.readNum;
  return a.unreadNum < b.unreadNum;
}

/**
 * Folds a batch into at most one row per primary key: Postgres rejects an
 * `INSERT ... ON CONFLICT DO UPDATE` that touches the same row twice in one statement.
 */
export function reduceReceipts(packets: readonly ReceiptPacket[]): ReceiptRows {
  const receipts = new Map<string, ReceiptRow>();
  const readers = new Map<string, ReaderRow>();
  const events = new Map<string, EventRow>();

  for (const { sdkAppId, clientIp, optPlatform, receivedAtMs, receipt } of packets) {
    const { GroupId: groupId, Type: groupType, EventTime: eventTimeMs } = receipt;
    for (const item of receipt.GroupMsgReceiptList) {
      const msgSeq = item.MsgSeq;
      // NUL cannot occur in a validated field, so it separates key parts unambiguously.
      const messageKey = `${sdkAppId}\u0000${groupId}\u0000${msgSeq}`;
      const row: ReceiptRow = { sdkAppId, groupId, msgSeq, groupType, readNum: item.ReadNum, unreadNum: item.UnreadNum, eventTimeMs };
      const current = receipts.get(messageKey);
      if (!current || isNewerSnapshot(row, current)) receipts.set(messageKey, row);

      const eventKey = `${messageKey}\u0000${eventTimeMs}`;
      const seen = events.get(eventKey);
      if (!seen || receivedAtMs < seen.receivedAtMs) {
        events.set(eventKey, { sdkAppId, groupId, msgSeq, eventTimeMs, receivedAtMs, clientIp, optPlatform });
      }

      for (const { Member_Account: memberAccount } of item.ReadReceiptMembers ?? []) {
        const readerKey = `${messageKey}\u0000${memberAccount}`;
        const known = readers.get(readerKey);
        if (!known || eventTimeMs < known.readAtMs) {
          readers.set(readerKey, { sdkAppId, groupId, msgSeq, memberAccount, readAtMs: eventTimeMs });
        }
      }
    }
  }
  return { receipts: [...receipts.values()], readers: [...readers.values()], events: [...events.values()] };
}
