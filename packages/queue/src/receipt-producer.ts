import type { ReceiptPacket } from "@receipt-sync/protocol";
import type { Queue } from "bullmq";
import { RECEIPT_JOB_NAME, RECEIPT_JOB_OPTIONS, type ReceiptJobData } from "./contract.js";

export type ReceiptProducerOptions = {
  queue: Queue<ReceiptJobData>;
  /** Upper bound on packets in one job (and so in one database batch). */
  maxPacketsPerJob?: number;
  /** Adds allowed in flight at once; callbacks arriving meanwhile wait and share the next job. */
  maxConcurrentAdds?: number;
  /** A Redis that does not answer within this is treated as down. */
  addTimeoutMs?: number;
};

type Waiter = { packet: ReceiptPacket; resolve: () => void; reject: (error: Error) => void };

export class EnqueueTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`Redis did not accept the job within ${timeoutMs} ms`);
  }
}

/**
 * Group commit for callbacks: each `enqueue` resolves only once Redis has stored a job
 * holding that packet, but callbacks that arrive while an add is in flight share one job.
 * One round trip per request would halve ingest throughput; an idle system still sends each
 * callback at once, so batching costs no latency when there is nothing to batch.
 */
export class ReceiptProducer {
  private readonly queue: Queue<ReceiptJobData>;
  private readonly maxPacketsPerJob: number;
  private readonly maxConcurrentAdds: number;
  private readonly addTimeoutMs: number;
  private pending: Waiter[] = [];
  private addsInFlight = 0;
  private flushScheduled = false;
  private idleWaiters: (() => void)[] = [];

  constructor(options: ReceiptProducerOptions) {
    this.queue = options.queue;
    this.maxPacketsPerJob = options.maxPacketsPerJob ?? 8;
    this.maxConcurrentAdds = options.maxConcurrentAdds ?? 64;
    this.addTimeoutMs = options.addTimeoutMs ?? 1000;
  }

  /** Resolves when the packet is durably in Redis; rejects when Redis did not take it. */
  enqueue(packet: ReceiptPacket): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ packet, resolve, reject });
      this.scheduleFlush();
    });
  }

  /** Packets accepted by `enqueue` but not yet confirmed by Redis. */
  get inFlight(): number {
    return this.pending.length + this.addsInFlight;
  }

  /** Resolves when every accepted packet has been confirmed or refused. */
  async drain(): Promise<void> {
    if (this.pending.length === 0 && this.addsInFlight === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.addsInFlight >= this.maxConcurrentAdds) return;
    this.flushScheduled = true;
    // setImmediate lets every request parsed in this turn of the event loop join the job.
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.addsInFlight < this.maxConcurrentAdds && this.pending.length > 0) {
      const batch = this.pending.splice(0, this.maxPacketsPerJob);
      this.addsInFlight += 1;
      void this.addJob(batch).finally(() => {
        this.addsInFlight -= 1;
        if (this.pending.length > 0) this.scheduleFlush();
        else if (this.addsInFlight === 0) this.notifyIdle();
      });
    }
  }

  private async addJob(batch: Waiter[]): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new EnqueueTimeoutError(this.addTimeoutMs)), this.addTimeoutMs);
    });
    try {
      const data: ReceiptJobData = { packets: batch.map((w) => w.packet) };
      await Promise.race([this.queue.add(RECEIPT_JOB_NAME, data, RECEIPT_JOB_OPTIONS), timeout]);
      for (const waiter of batch) waiter.resolve();
    } catch (error) {
      const reason = error instanceof Error ? error : new Error(String(error));
      for (const waiter of batch) waiter.reject(reason);
    } finally {
      clearTimeout(timer);
    }
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
