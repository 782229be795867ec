import type { ReceiptPacket } from "@receipt-sync/protocol";
import { secondsSince } from "@receipt-sync/runtime";
import type { StoredIn } from "./durable-store.js";

/**
 * The durable store as the callback handler sees it: it counts the callbacks being stored and
 * times each one. Callbacks waiting for Redis or the spool are what piles up when either is
 * slow, so `inFlight` is what the in-flight cap reads (in checkCaller, before a body is read).
 * A plain counter and one clock read per callback: nothing measurable on the hot path.
 */
export class MeteredStore {
  inFlight = 0;

  constructor(
    /** Resolves once the packet is durable; rejects when nothing could keep it. */
    private readonly durableStore: (packet: ReceiptPacket) => Promise<StoredIn>,
    private readonly onStored: (storedIn: StoredIn, seconds: number) => void,
  ) {}

  async store(packet: ReceiptPacket): Promise<StoredIn> {
    this.inFlight += 1;
    const startedAt = process.hrtime.bigint();
    try {
      const storedIn = await this.durableStore(packet);
      this.onStored(storedIn, secondsSince(startedAt));
      return storedIn;
    } finally {
      this.inFlight -= 1;
    }
  }
}
