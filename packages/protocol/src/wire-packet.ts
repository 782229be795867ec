import { READ_RECEIPT_COMMAND } from "./read-receipt.js";
import type { ReceiptPacket } from "./receipt-packet.js";

/** One message of a wire packet: MsgSeq, ReadNum, UnreadNum, and the readers' accounts (null when the callback listed none). */
export type WireMessage = [msgSeq: number, readNum: number, unreadNum: number, readers: string[] | null];

/**
 * A ReceiptPacket as a job carries it and the worker writes it: the same values in arrays,
 * without field names or the constant CallbackCommand. It is a third of the packet's JSON, and
 * under half of its objects when parsed: the worker's CPU per callback went mostly into parsing
 * job data and collecting what parsing left behind.
 */
export type WirePacket = [
  sdkAppId: string,
  clientIp: string | null,
  optPlatform: string | null,
  receivedAtMs: number,
  groupId: string,
  type: string,
  eventTimeMs: number,
  messages: WireMessage[],
];

export function toWire(packet: ReceiptPacket): WirePacket {
  const { receipt } = packet;
  return [
    packet.sdkAppId,
    packet.clientIp,
    packet.optPlatform,
    packet.receivedAtMs,
    receipt.GroupId,
    receipt.Type,
    receipt.EventTime,
    receipt.GroupMsgReceiptList.map((m) => [
      m.MsgSeq,
      m.ReadNum,
      m.UnreadNum,
      m.ReadReceiptMembers ? m.ReadReceiptMembers.map((r) => r.Member_Account) : null,
    ]),
  ];
}

/**
 * The packet a wire packet stands for, for the schema to judge and for people to read (the
 * quarantine keeps this form). Any value is taken: what is not shaped like a wire packet is
 * returned as it is, and the schema then says what is wrong with it.
 */
export function fromWire(value: unknown): unknown {
  if (!Array.isArray(value) || value.length !== 8 || !Array.isArray(value[7])) return value;
  const [sdkAppId, clientIp, optPlatform, receivedAtMs, GroupId, Type, EventTime, list] = value as unknown[];
  const GroupMsgReceiptList = (list as unknown[]).map((m) => {
    if (!Array.isArray(m) || m.length !== 4) return m;
    const [MsgSeq, ReadNum, UnreadNum, readers] = m as unknown[];
    const message: Record<string, unknown> = { MsgSeq, ReadNum, UnreadNum };
    if (readers !== null)
      message.ReadReceiptMembers = Array.isArray(readers)
        ? readers.map((account) => ({ Member_Account: account }))
        : readers;
    return message;
  });
  return {
    sdkAppId,
    clientIp,
    optPlatform,
    receivedAtMs,
    receipt: { CallbackCommand: READ_RECEIPT_COMMAND, GroupId, Type, GroupMsgReceiptList, EventTime },
  };
}
