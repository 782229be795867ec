import type { ReceiptPacket } from "@receipt-sync/protocol";
import { GroupCommit } from "@receipt-sync/runtime";
import type { Queue } from "bullmq";
import { addReceiptJob, receiptPacketWeight, type ReceiptJobData } from "./contract.js";

export type ReceiptProducerOptions = {
  queue: Queue<ReceiptJobData>;
  /** Upper bound on one job, in packets of ordinary size (see receiptPacketWeight); a larger packet forms a job alone. */
  maxPacketsPerJob?: number;
  /** Adds allowed in flight at once; callbacks arriving meanwhile wait and share the next job. */
  maxConcurrentAdds?: number;
  /** A Redis that does not answer within this is treated as down. */
  addTimeoutMs?: number;
};

/**
 * Puts callbacks into the queue with group commit: each `enqueue` resolves only once Redis has
 * stored a job holding that packet, but callbacks that arrive while an add is in flight share
 * one job. One round trip per request would halve ingest throughput.
 */
export class ReceiptProducer {
  private readonly group: GroupCommit<ReceiptPacket>;

  constructor(options: ReceiptProducerOptions) {
    const { queue, addTimeoutMs = 1000 } = options;
    this.group = new GroupCommit<ReceiptPacket>({
      maxGroupSize: options.maxPacketsPerJob ?? 100,
      sizeOf: receiptPacketWeight,
      maxConcurrentCommits: options.maxConcurrentAdds ?? 1,
      commit: (packets) => addReceiptJob(queue, packets, addTimeoutMs),
    });
  }

  /** Resolves when the packet is durably in Redis; rejects when Redis did not take it. */
  enqueue(packet: ReceiptPacket): Promise<void> {
    return this.group.submit(packet);
  }

  /** Packets accepted by `enqueue` but not yet confirmed or refused by Redis. */
  get inFlight(): number {
    return this.group.backlog;
  }

  /** Resolves when every accepted packet has been confirmed or refused. */
  drain(): Promise<void> {
    return this.group.drain();
  }
}
