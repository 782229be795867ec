import type { FakeTencent } from "./fake-tencent.js";

type SeedOptions = {
  sdkAppId: string;
  groups: number;
  /** Messages with a read receipt per group; a few without one, and placeholders, come on top. */
  messagesPerGroup: number;
  /** Send time of the first message; reads follow within the hour. Keep it inside the look-back window. */
  startMs: number;
  seed?: number;
  groupPrefix?: string;
};

/** Deterministic, so a failing run can be replayed (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TYPES = ["Public", "Work", "Meeting", "Private"];

/**
 * Fills `fake` with groups, messages and reads, and returns the callbacks Tencent would have
 * sent for those reads, in the order it sent them. A member who reads several messages within
 * a minute gets one callback listing them all, as clients acknowledge in batches.
 */
export function seedFake(
  fake: FakeTencent,
  options: SeedOptions,
): { callbacks: Record<string, unknown>[]; groupIds: string[] } {
  const random = rng(options.seed ?? 12);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const sessions: { groupId: string; account: string; seqs: number[]; atMs: number }[] = [];
  const groupIds: string[] = [];
  for (let g = 0; g < options.groups; g++) {
    const groupId = `${options.groupPrefix ?? "@TGS#fake"}${g}`;
    const members = Array.from({ length: 3 + Math.floor(random() * 10) }, (_, k) =>
      k % 5 === 4 ? `用户${g}_${k}` : `u${g}_${k}`,
    );
    fake.createGroup(options.sdkAppId, groupId, { type: pick(TYPES), members });
    groupIds.push(groupId);
    let timeMs = options.startMs + g * 1000;
    const reads = new Map<string, { seq: number; atMs: number }[]>();
    for (let m = 0; m < options.messagesPerGroup; m++) {
      if (random() < 0.15)
        fake.sendMessage(options.sdkAppId, groupId, {
          from: pick(members),
          timeMs: (timeMs += 30_000),
          receipt: false,
        });
      if (random() < 0.05)
        fake.sendMessage(options.sdkAppId, groupId, {
          from: pick(members),
          timeMs: (timeMs += 30_000),
          placeholder: true,
        });
      const from = pick(members);
      const seq = fake.sendMessage(options.sdkAppId, groupId, { from, timeMs: (timeMs += 60_000) });
      for (const account of members) {
        if (account === from || random() < 0.35) continue;
        const list = reads.get(account) ?? [];
        list.push({ seq, atMs: timeMs + 1 + Math.floor(random() * 3600_000) });
        reads.set(account, list);
      }
    }
    for (const [account, list] of reads) {
      list.sort((a, b) => a.atMs - b.atMs);
      let session: (typeof sessions)[number] | undefined;
      for (const read of list) {
        if (session && read.atMs - session.atMs < 60_000) {
          session.seqs.push(read.seq);
          session.atMs = read.atMs;
        } else {
          session = { groupId, account, seqs: [read.seq], atMs: read.atMs };
          sessions.push(session);
        }
      }
    }
  }
  sessions.sort((a, b) => a.atMs - b.atMs);
  const callbacks: Record<string, unknown>[] = [];
  for (const s of sessions) {
    const callback = fake.read(options.sdkAppId, s.groupId, s.account, s.seqs, s.atMs);
    if (callback) callbacks.push(callback);
  }
  return { callbacks, groupIds };
}
