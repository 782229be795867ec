import { splitByLane, type QuarantineEntry } from "@receipt-sync/db";
import { fromWire, parseReceiptPacket, type WirePacket } from "@receipt-sync/protocol";
import { wirePacketWeight } from "@receipt-sync/queue";
import { GroupCommit, secondsSince } from "@receipt-sync/runtime";
import { classifyDbError, type ClassifiedFailure } from "./classify-db-error.js";

/**
 * A callback the database refused on its own. Packets stamped by the ingest reach the writer
 * unparsed (create-job-processor.ts), so the schema gets its say here: a packet it rejects is kept as
 * invalid, with the schema's reason and the database's SQLSTATE.
 */
function culpritEntry(packet: WirePacket, failure: ClassifiedFailure): QuarantineEntry {
  const raw = fromWire(packet);
  const parsed = parseReceiptPacket(raw);
  const { sqlState } = failure;
  if (!parsed.ok) return { raw, reason: "invalid_payload", error: parsed.error, sqlState };
  return { raw, reason: "rejected_by_database", error: failure.error.message, sqlState };
}

/** What one batch's isolation has learnt: whether any part committed, and which callbacks failed alone. */
type Isolation = { committed: boolean; culprits: { packet: WirePacket; failure: ClassifiedFailure }[] };

type BatchWriterOptions = {
  /** Write lanes, each owning a share of the groups with one transaction in flight. */
  lanes: number;
  /** Most callbacks of ordinary size (see receiptPacketWeight) written in one transaction; shares submitted meanwhile are merged up to this. */
  maxBatchPackets: number;
  /** Writes packets in one transaction. */
  apply: (packets: readonly WirePacket[]) => Promise<void>;
  /** Keeps callbacks that cannot be written; resolves once they are durable. */
  quarantine: (entries: QuarantineEntry[]) => Promise<void>;
  /** Told of every transaction attempted, for metrics. */
  onTransaction?: (packets: readonly WirePacket[], seconds: number, ok: boolean) => void;
};

/**
 * The worker's write policy. Invariant: one bad callback never blocks or loses the others.
 *
 * - Lanes: each job is split by FNV-1a(SdkAppid, GroupId) into lanes with one transaction in
 *   flight each, so a worker's transactions never wait on each other's row locks.
 * - Group commit: shares submitted while a lane's transaction runs are merged into its next
 *   one (up to `maxBatchPackets`): one transaction for many jobs.
 * - Classification (classify-db-error.ts): a transient failure rejects every share in the
 *   transaction, and their jobs are retried. Shares that committed before another share of the
 *   same job failed are written again then, which the idempotent merge makes harmless.
 * - Bisection: a data error splits the batch in halves until the culprit is alone. A half is
 *   not tried when its sibling committed and the parent failed with a data error, since the
 *   culprit must be in it; a single callback is always tried alone. One culprit among 500
 *   costs 10 to 20 transactions; everything else in the batch commits. A timeout splits the
 *   same way (a batch too big for the deadline commits in halves), but a single callback that
 *   times out is retried later.
 * - Quarantine: a callback that fails alone with a data error, or twice alone with an
 *   unclassified one while other parts of its batch commit, is kept in quarantined_callbacks,
 *   and its job completes. An unclassified error that nothing in the batch escapes is the
 *   server's: the job is retried.
 */
export class BatchWriter {
  private readonly lanes: GroupCommit<readonly WirePacket[]>[];

  constructor(private readonly options: BatchWriterOptions) {
    this.lanes = Array.from(
      { length: options.lanes },
      () =>
        new GroupCommit<readonly WirePacket[]>({
          commit: (shares) => this.writeIsolated(shares.flat()),
          sizeOf: (share) => share.reduce((n, packet) => n + wirePacketWeight(packet), 0),
          maxGroupSize: options.maxBatchPackets,
          maxConcurrentCommits: 1,
        }),
    );
  }

  /** Resolves once every packet is applied or quarantined; rejects on a transient failure. */
  async write(packets: readonly WirePacket[]): Promise<void> {
    const shares = [...splitByLane(packets, this.lanes.length)].map(([lane, share]) => this.lanes[lane]!.submit(share));
    const failed = (await Promise.allSettled(shares)).find((s) => s.status === "rejected");
    if (failed) throw failed.reason;
  }

  quarantine(entries: QuarantineEntry[]): Promise<void> {
    return this.options.quarantine(entries);
  }

  private async writeIsolated(packets: WirePacket[]): Promise<void> {
    const failure = await this.attempt(packets);
    if (!failure) return;
    const run: Isolation = { committed: false, culprits: [] };
    await this.isolate(packets, failure, run);
    // An unclassified error that no part of the batch escaped is the server's, not a callback's.
    const unexplained = run.culprits.find((c) => c.failure.kind === "unknown");
    if (unexplained && !run.committed) throw unexplained.failure.error;
    if (run.culprits.length === 0) return;
    await this.options.quarantine(run.culprits.map(({ packet, failure: f }) => culpritEntry(packet, f)));
  }

  /** `packets` failed together with `failure`: commit all but the culprits, and collect those. */
  private async isolate(packets: WirePacket[], failure: ClassifiedFailure, run: Isolation): Promise<void> {
    if (failure.kind === "transient") throw failure.error;
    if (packets.length === 1) return this.settleAlone(packets[0]!, run);
    const middle = Math.ceil(packets.length / 2);
    const left = packets.slice(0, middle);
    const right = packets.slice(middle);
    const leftFailure = await this.attempt(left, run);
    if (leftFailure) await this.isolate(left, leftFailure, run);
    // A data error in the parent, and the left half committed: the culprit is on the right.
    const rightFailure = leftFailure || failure.kind !== "data" ? await this.attempt(right, run) : failure;
    if (rightFailure) await this.isolate(right, rightFailure, run);
  }

  /** One callback that failed in company: try it alone before deciding it cannot be written. */
  private async settleAlone(packet: WirePacket, run: Isolation): Promise<void> {
    let failure = await this.attempt([packet], run);
    // An unclassified error must recur alone before it is blamed on this callback.
    if (failure?.kind === "unknown") failure = await this.attempt([packet], run);
    if (!failure) return;
    // Too slow or the server failing: try again later, never quarantine for that.
    if (failure.kind === "transient" || failure.kind === "timeout") throw failure.error;
    run.culprits.push({ packet, failure });
  }

  /** One transaction: undefined when it committed, the classified failure when not. */
  private async attempt(packets: readonly WirePacket[], run?: Isolation): Promise<ClassifiedFailure | undefined> {
    const startedAt = process.hrtime.bigint();
    try {
      await this.options.apply(packets);
      this.options.onTransaction?.(packets, secondsSince(startedAt), true);
      if (run) run.committed = true;
      return undefined;
    } catch (error) {
      this.options.onTransaction?.(packets, secondsSince(startedAt), false);
      return classifyDbError(error);
    }
  }
}
