import { describe, expect, it } from "vitest";
import { toWire } from "@receipt-sync/protocol";
import { receiptPacket } from "@receipt-sync/testing";
import { laneOf, splitByLane } from "./write-lanes.js";

const packet = (groupId: string, sdkAppId = "1400000001", eventTimeMs = 1) =>
  toWire(receiptPacket({ groupId, sdkAppId, eventTimeMs, messages: [{ seq: 1, read: 1, unread: 0, readers: ["a"] }] }));

describe("write lanes", () => {
  it("sends every packet of a group to the same lane, whatever else it carries", () => {
    for (const groupId of ["g1", "@TGS#2ABC", "读者群", ""]) {
      const lanes = new Set([1, 2, 3].map((t) => laneOf(packet(groupId, "1400000001", t), 4)));
      expect(lanes.size).toBe(1);
    }
  });

  it("keeps apps apart: the same GroupId in two apps is two keys", () => {
    const differing = Array.from({ length: 50 }, (_, i) => `g${i}`).filter(
      (g) => laneOf(packet(g, "1400000001"), 2) !== laneOf(packet(g, "1400000002"), 2),
    );
    expect(differing.length).toBeGreaterThan(0);
  });

  it("spreads 1,000 groups evenly enough over 2 and 4 lanes", () => {
    for (const lanes of [2, 4]) {
      const counts = new Array<number>(lanes).fill(0);
      for (let g = 0; g < 1000; g++) counts[laneOf(packet(`group-${g}`), lanes)]! += 1;
      for (const count of counts) expect(count).toBeGreaterThan((1000 / lanes) * 0.8);
    }
  });

  it("one lane takes everything", () => {
    expect(laneOf(packet("anything"), 1)).toBe(0);
  });

  it("splits a batch by lane and keeps each lane's packets in their order", () => {
    const packets = Array.from({ length: 40 }, (_, i) => packet(`group-${i % 7}`, "1400000001", i));
    const split = splitByLane(packets, 3);
    expect([...split.values()].flat()).toHaveLength(40);
    for (const [lane, share] of split) {
      expect(share.length).toBeGreaterThan(0);
      expect(share.every((p) => laneOf(p, 3) === lane)).toBe(true);
      const times = share.map((p) => p[6]);
      expect(times).toEqual([...times].sort((a, b) => a - b));
    }
  });
});
