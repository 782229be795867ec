import { describe, expect, it } from "vitest";
import { receiptPacket } from "../../../test/support/fixtures.js";
import { reduceReceipts } from "./reduce-receipts.js";

describe("reduceReceipts", () => {
  it("folds repeated messages in one batch to one row per key", () => {
    const rows = reduceReceipts([
      receiptPacket({ eventTimeMs: 2, messages: [{ seq: 1, read: 2, unread: 1, readers: ["a", "b"] }] }),
      receiptPacket({ eventTimeMs: 1, messages: [{ seq: 1, read: 1, unread: 2, readers: ["a"] }, { seq: 1, read: 1, unread: 2 }] }),
    ]);
    expect(rows.receipts).toEqual([expect.objectContaining({ msgSeq: 1, readNum: 2, unreadNum: 1, eventTimeMs: 2 })]);
    expect(rows.readers).toEqual([
      expect.objectContaining({ memberAccount: "a", readAtMs: 1 }),
      expect.objectContaining({ memberAccount: "b", readAtMs: 2 }),
    ]);
    expect(rows.events.map((e) => e.eventTimeMs).sort()).toEqual([1, 2]);
  });

  it("breaks a same-millisecond tie by the larger ReadNum, whatever the order", () => {
    const low = receiptPacket({ eventTimeMs: 5, messages: [{ seq: 1, read: 1, unread: 5 }] });
    const high = receiptPacket({ eventTimeMs: 5, messages: [{ seq: 1, read: 3, unread: 3 }] });
    expect(reduceReceipts([low, high]).receipts[0]).toMatchObject({ readNum: 3 });
    expect(reduceReceipts([high, low]).receipts[0]).toMatchObject({ readNum: 3 });
  });
});
