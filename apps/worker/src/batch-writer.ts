import { splitByLane, type QuarantineEntry } from "@receipt-sync/db";
import type { ReceiptPacket } from "@receipt-sync/protocol";
import { GroupCommit, secondsSince } from "@receipt-sync/runtime";
import { classifyDbError, type ClassifiedFailure } from "./classify-db-error.js";

export type BatchWriterOptions = {
  /** Write lanes, each owning a share of the groups with one transaction in flight. */
  lanes: number;
  /** Most callbacks written in one transaction; packets submitted meanwhile are merged up to this. */
  maxBatchPackets: number;
  /** Writes packets in one transaction. */
  apply: (packets: readonly ReceiptPacket[]) => Promise<void>;
  /** Keeps callbacks that cannot be written; resolves once they are durable. */
  quarantine: (entries: QuarantineEntry[]) => Promise<void>;
  /** Told of every transaction attempted, for metrics. */
  onTransaction?: (packets: readonly ReceiptPacket[], seconds: number, ok: boolean) => void;
};

/**
 * The worker's write policy. Invariant: one bad callback never blocks or loses the others.
 *
 * - Lanes: each job is split by FNV-1a(SdkAppid, GroupId) into lanes with one transaction in
 *   flight each, so a worker's transactions never wait on each other's row locks.
 * - Group commit: shares submitted while a lane's transaction runs are merged into its next
 *   one (up to `maxBatchPackets`): one transaction for many jobs.
 * - Classification: a transient failure (see classify-db-error.ts) rejects every share in the
 *   transaction, and their jobs are retried. Shares that committed before another share of the
 *   same job failed are written again then, which the idempotent merge makes harmless.
 * - Bisection: a data error splits the batch in halves until the culprit is alone. A half is
 *   not tried when its sibling committed and the parent failed, since the culprit must be in
 *   it; a single callback is always tried alone. One culprit among 500 costs 10 to 20
 *   transactions; everything else in the batch commits.
 * - Quarantine: a callback that fails alone with a data error (or twice alone with an
 *   unclassified one) is kept in quarantined_callbacks, and its job completes.
 */
export class BatchWriter {
  private readonly lanes: GroupCommit<readonly ReceiptPacket[]>[];

  constructor(private readonly options: BatchWriterOptions) {
    this.lanes = Array.from(
      { length: options.lanes },
      () =>
        new GroupCommit<readonly ReceiptPacket[]>({
          commit: (shares) => this.writeIsolated(shares.flat()),
          sizeOf: (share) => share.length,
          maxGroupSize: options.maxBatchPackets,
          maxConcurrentCommits: 1,
        }),
    );
  }

  /** Resolves once every packet is applied or quarantined; rejects on a transient failure. */
  async write(packets: readonly ReceiptPacket[]): Promise<void> {
    const shares = [...splitByLane(packets, this.lanes.length)].map(([lane, share]) => this.lanes[lane]!.submit(share));
    const failed = (await Promise.allSettled(shares)).find((s) => s.status === "rejected");
    if (failed) throw failed.reason;
  }

  /** Resolves once every lane is idle. */
  async drain(): Promise<void> {
    await Promise.all(this.lanes.map((lane) => lane.drain()));
  }

  quarantine(entries: QuarantineEntry[]): Promise<void> {
    return this.options.quarantine(entries);
  }

  private async writeIsolated(packets: ReceiptPacket[]): Promise<void> {
    const failure = await this.attempt(packets);
    if (failure) await this.isolate(packets, failure);
  }

  /** `packets` failed together with `failure`; commit all but the culprits, quarantine those. */
  private async isolate(packets: ReceiptPacket[], failure: ClassifiedFailure): Promise<void> {
    if (failure.kind === "transient") throw failure.error;
    if (packets.length === 1) return this.settleAlone(packets[0]!);
    const middle = Math.ceil(packets.length / 2);
    const left = packets.slice(0, middle);
    const right = packets.slice(middle);
    const leftFailure = await this.attempt(left);
    if (leftFailure) await this.isolate(left, leftFailure);
    // The parent failed and the left half committed: the culprit is on the right.
    const rightFailure = leftFailure ? await this.attempt(right) : failure;
    if (rightFailure) await this.isolate(right, rightFailure);
  }

  /** One callback that failed in company: try it alone before deciding it cannot be written. */
  private async settleAlone(packet: ReceiptPacket): Promise<void> {
    let failure = await this.attempt([packet]);
    // An unclassified error must recur alone before it is blamed on this callback.
    if (failure?.kind === "unknown") failure = await this.attempt([packet]);
    if (!failure) return;
    if (failure.kind === "transient") throw failure.error;
    await this.options.quarantine([{ raw: packet, reason: "rejected_by_database", error: failure.error.message, sqlState: failure.sqlState }]);
  }

  /** One transaction: undefined when it committed, the classified failure when not. */
  private async attempt(packets: readonly ReceiptPacket[]): Promise<ClassifiedFailure | undefined> {
    const startedAt = process.hrtime.bigint();
    try {
      await this.options.apply(packets);
      this.options.onTransaction?.(packets, secondsSince(startedAt), true);
      return undefined;
    } catch (error) {
      this.options.onTransaction?.(packets, secondsSince(startedAt), false);
      return classifyDbError(error);
    }
  }
}
