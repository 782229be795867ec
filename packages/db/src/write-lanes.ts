import type { WirePacket } from "@receipt-sync/protocol";

/**
 * Which of `lanes` writers a packet belongs to. Every row a packet writes is keyed by its
 * SdkAppid and GroupId, so when each lane has one transaction in flight, concurrent
 * transactions never touch the same rows and never wait for each other's row locks. Two
 * writers sharing groups instead spent about 40 % of their time in such waits.
 */
export function laneOf(packet: WirePacket, lanes: number): number {
  // FNV-1a of SdkAppid, NUL, GroupId: cheap, and stable across processes and restarts.
  const hash = fnv1a(packet[4], Math.imul(fnv1a(packet[0], 0x811c9dc5), 0x01000193));
  return (hash >>> 0) % lanes;
}

function fnv1a(text: string, hash: number): number {
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash;
}

/** Splits `packets` by lane, keeping their order within each lane; empty lanes are absent. */
export function splitByLane(packets: readonly WirePacket[], lanes: number): Map<number, WirePacket[]> {
  const byLane = new Map<number, WirePacket[]>();
  for (const packet of packets) {
    const lane = laneOf(packet, lanes);
    const list = byLane.get(lane);
    if (list) list.push(packet);
    else byLane.set(lane, [packet]);
  }
  return byLane;
}
