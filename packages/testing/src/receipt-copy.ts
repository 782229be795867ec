import { parseReceiptPacket, type ReceiptPacket } from "@receipt-sync/protocol";
import { query } from "./databases.js";
import type { TruthRow } from "./fake-tencent.js";

/** Our copy of one app, in the shape of FakeTencent.truth(): counts and the set of readers per message. */
export async function readCopy(databaseUrl: string, sdkAppId: string): Promise<TruthRow[]> {
  const rows = await query<{
    group_id: string;
    msg_seq: string;
    read_num: number;
    unread_num: number;
    readers: string[];
  }>(
    databaseUrl,
    `SELECT r.group_id, r.msg_seq::text, r.read_num, r.unread_num,
            coalesce(array_agg(m.member_account ORDER BY m.member_account) FILTER (WHERE m.member_account IS NOT NULL), '{}') AS readers
       FROM group_message_receipts r
       LEFT JOIN group_message_readers m USING (sdk_app_id, group_id, msg_seq)
      WHERE r.sdk_app_id = $1
      GROUP BY r.group_id, r.msg_seq, r.read_num, r.unread_num`,
    [sdkAppId],
  );
  return rows
    .map((r) => ({
      groupId: r.group_id,
      msgSeq: Number(r.msg_seq),
      readNum: r.read_num,
      unreadNum: r.unread_num,
      readers: [...r.readers].sort(),
    }))
    .sort((a, b) => (a.groupId === b.groupId ? a.msgSeq - b.msgSeq : a.groupId < b.groupId ? -1 : 1));
}

/** A callback body as the worker would receive it from the queue. */
export function packetOf(sdkAppId: string, body: Record<string, unknown>): ReceiptPacket {
  const parsed = parseReceiptPacket({
    sdkAppId,
    clientIp: null,
    optPlatform: "RESTAPI",
    receivedAtMs: Date.now(),
    receipt: body,
  });
  if (!parsed.ok) throw new Error(`fake produced an invalid callback: ${parsed.error}`);
  return parsed.value;
}
