import { READ_RECEIPT_COMMAND, type ReceiptPacket } from "@receipt-sync/protocol";

export const APP_ID = "1400000001";

type MessageFixture = { seq: number; read: number; unread: number; readers?: string[] };

/** A callback body as Tencent sends it (EventTime as the docs' sample: a digit string). */
export function receiptBody(options: {
  groupId?: string;
  type?: string;
  eventTimeMs: number | string;
  messages: MessageFixture[];
}): Record<string, unknown> {
  return {
    CallbackCommand: READ_RECEIPT_COMMAND,
    GroupId: options.groupId ?? "@TGS#2TTV7VSII",
    Type: options.type ?? "Public",
    GroupMsgReceiptList: options.messages.map((m) => ({
      MsgSeq: m.seq,
      ReadNum: m.read,
      UnreadNum: m.unread,
      ...(m.readers ? { ReadReceiptMembers: m.readers.map((account) => ({ Member_Account: account })) } : {}),
    })),
    EventTime: options.eventTimeMs,
  };
}

/** The same callback as the worker receives it from the queue. */
export function receiptPacket(options: Parameters<typeof receiptBody>[0] & { sdkAppId?: string }): ReceiptPacket {
  const body = receiptBody(options);
  return {
    sdkAppId: options.sdkAppId ?? APP_ID,
    clientIp: "203.0.113.7",
    optPlatform: "iOS",
    receivedAtMs: Date.now(),
    receipt: { ...(body as ReceiptPacket["receipt"]), EventTime: Number(options.eventTimeMs) },
  };
}

/** The query string Tencent appends to the callback URL. */
export function callbackQuery(overrides: Record<string, string> = {}): string {
  return new URLSearchParams({
    SdkAppid: APP_ID,
    CallbackCommand: READ_RECEIPT_COMMAND,
    contenttype: "json",
    ClientIP: "203.0.113.7",
    OptPlatform: "iOS",
    ...overrides,
  }).toString();
}
