import { READ_RECEIPT_COMMAND, type ReceiptPacket } from "@receipt-sync/protocol";
import { rng } from "@receipt-sync/testing";

/**
 * A realistic stream of read-receipt callbacks, in arrival order: `groups` groups with
 * rolling MsgSeqs, 1-3 messages and 1-5 readers per callback, some exact duplicates (Tencent's
 * retries) and some callbacks arriving after later ones. Seeded, so runs are comparable.
 */
type StreamOptions = {
  packets: number;
  groups: number;
  seed: number;
  sdkAppId: string;
  duplicateRate?: number;
  outOfOrderRate?: number;
};

const GROUP_SIZE = 200;
const FIRST_EVENT_MS = 1_760_000_000_000;

export function generateStream(options: StreamOptions): ReceiptPacket[] {
  const { packets: count, groups, sdkAppId, duplicateRate = 0.05, outOfOrderRate = 0.05 } = options;
  const random = rng(options.seed);
  const pick = (n: number) => Math.floor(random() * n);
  // Every tenth group uses MsgSeqs past 2^32, and some members have non-ASCII UserIDs.
  const state = Array.from({ length: groups }, (_, g) => ({
    groupId: `@TGS#bench${g}`,
    nextSeq: g % 10 === 0 ? 2 ** 32 + pick(1000) : 10 + pick(1000),
    clockMs: FIRST_EVENT_MS + pick(60_000),
    readSoFar: new Map<number, number>(),
  }));
  const member = (g: number, i: number) => (i % 7 === 0 ? `用户${g}_${i}` : `user${g}_${i}`);

  const stream: ReceiptPacket[] = [];
  while (stream.length < count) {
    if (stream.length > 0 && random() < duplicateRate) {
      stream.push(stream[stream.length - 1 - pick(Math.min(stream.length, 1000))]!);
      continue;
    }
    const g = pick(groups);
    const group = state[g]!;
    group.clockMs += 1 + pick(50);
    if (random() < 0.5) group.nextSeq += 1;
    const seqs = new Set<number>();
    const messages = 1 + pick(3);
    while (seqs.size < messages) seqs.add(group.nextSeq - pick(5));
    stream.push({
      sdkAppId,
      clientIp: "198.51.100.1",
      optPlatform: ["iOS", "Android", "Web", "RESTAPI"][pick(4)]!,
      receivedAtMs: group.clockMs,
      receipt: {
        CallbackCommand: READ_RECEIPT_COMMAND,
        GroupId: group.groupId,
        Type: "Work",
        EventTime: group.clockMs,
        GroupMsgReceiptList: [...seqs].map((seq) => {
          const read = Math.min(GROUP_SIZE, (group.readSoFar.get(seq) ?? 0) + 1 + pick(5));
          group.readSoFar.set(seq, read);
          const readers = Array.from({ length: 1 + pick(5) }, () => ({ Member_Account: member(g, pick(GROUP_SIZE)) }));
          return { MsgSeq: seq, ReadNum: read, UnreadNum: GROUP_SIZE - read, ReadReceiptMembers: readers };
        }),
      },
    });
  }
  // Late arrivals: swap a callback with one up to 100 places later.
  for (let i = 0; i < count; i++) {
    if (random() >= outOfOrderRate) continue;
    const j = Math.min(count - 1, i + 1 + pick(100));
    [stream[i], stream[j]] = [stream[j]!, stream[i]!];
  }
  return stream;
}
