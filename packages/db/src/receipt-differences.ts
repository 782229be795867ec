/** One message as the tables hold it, or as Tencent's REST API reports it. */
export type ReceiptState = { readNum: number; unreadNum: number; readers: string[] };

export type Difference = "missing" | "read_num" | "unread_num" | "readers";

/**
 * How `ours` differs from `theirs`; empty when they agree. Readers are compared as sets, and
 * `ours === undefined` means we hold no row for the message at all.
 */
export function receiptDifferences(ours: ReceiptState | undefined, theirs: ReceiptState): Difference[] {
  if (!ours) return ["missing"];
  const differences: Difference[] = [];
  if (ours.readNum !== theirs.readNum) differences.push("read_num");
  if (ours.unreadNum !== theirs.unreadNum) differences.push("unread_num");
  if (!sameSet(ours.readers, theirs.readers)) differences.push("readers");
  return differences;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((x) => set.has(x));
}

/** The key this package uses for one message of one app: NUL cannot occur in a stored id. */
export function messageKey(groupId: string, msgSeq: number): string {
  return `${groupId}\u0000${msgSeq}`;
}
