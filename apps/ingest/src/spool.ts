import { mkdir, readdir, rename, stat, unlink } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import type { ReceiptPacket } from "@receipt-sync/protocol";
import { GroupCommit, type Logger } from "@receipt-sync/runtime";
import { countSegmentLines, segmentLines } from "./segment-lines.js";
import { SEGMENT_NAME, SegmentMovedError, SegmentWriter, syncDirectory, type Segment } from "./segment-writer.js";
import { lockSpoolDir, type SpoolLock } from "./spool-lock.js";

/**
 * A durable local fallback for when Redis cannot take a callback. Tencent does not retry this
 * callback by default, so a packet we acknowledge must be on disk first: `append` resolves
 * once its line is fsync'd (many concurrent appends share one write and one fsync).
 *
 * Lines go to newline-delimited JSON segments of about `segmentBytes` (segment-writer.ts);
 * `redrive` moves whole segments into the queue, streaming them line by line, and deletes each
 * only after Redis took all of it. Segments left by an earlier process are counted at open and
 * re-driven too. One ingest per directory (spool-lock.ts); segments of a directory whose ingest
 * is gone are moved in with `adopt` (spool-sweeper.ts) and re-driven like the spool's own.
 *
 * `depth` counts acknowledged packets not yet in the queue, exactly: it grows when a group is
 * synced, before its appends resolve, and shrinks by a segment's own count when that segment
 * is deleted, never by what a re-drive happened to read.
 */
type SpoolOptions = {
  dir: string;
  maxBytes: number;
  /** A segment that reaches this size is closed and a new one opened. */
  segmentBytes?: number;
  /** Puts packets into the queue; resolves once Redis has them. */
  enqueue: (packets: readonly unknown[]) => Promise<void>;
  log: Logger;
  /** A re-driven job holds at most this weight (weightOf each line, 1 each by default) and this many line bytes. */
  redriveBatchWeight?: number;
  redriveBatchBytes?: number;
  weightOf?: (value: unknown) => number;
};

export class SpoolFullError extends Error {}
/** Another ingest took this spool's directory over: nothing more may be acknowledged from it. */
export class SpoolTakenError extends Error {}

const DEFAULT_SEGMENT_BYTES = 16 * 1024 * 1024;
const GROUP_BYTES = 1024 * 1024;

/** An adopted segment's bytes were on the volume already, under the budget of the ingest that wrote it: they count against neither budget here (its `bytes` is 0). */
type HeldSegment = Segment & { adopted?: true };

export class Spool {
  private readonly closed: HeldSegment[] = [];
  private diskBytes = 0;
  private reservedBytes = 0;
  private pendingPackets = 0;
  private redriving: Promise<void> | undefined;
  private closing = false;
  private taken = false;
  private readonly group: GroupCommit<Buffer>;
  private readonly writer: SegmentWriter;

  private constructor(
    private readonly options: SpoolOptions,
    private readonly lock: SpoolLock,
    found: Segment[],
  ) {
    const segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    for (const segment of found) this.addClosed(segment);
    const last = found.at(-1);
    this.writer = new SegmentWriter(
      options.dir,
      segmentBytes,
      last ? Number(SEGMENT_NAME.exec(last.name)![1]) + 1 : 0,
      {
        synced: (packets, bytes) => {
          this.pendingPackets += packets;
          this.diskBytes += bytes;
        },
        sealed: (segment) => this.closed.push(segment),
        resized: (deltaBytes) => (this.diskBytes += deltaBytes),
      },
    );
    this.group = new GroupCommit<Buffer>({
      maxGroupSize: Math.min(GROUP_BYTES, segmentBytes),
      sizeOf: (line) => line.length,
      maxConcurrentCommits: 1,
      commit: (lines) =>
        this.writer.write(lines).catch((error: unknown) => {
          if (error instanceof SegmentMovedError) this.markTaken(error.message);
          throw error;
        }),
    });
  }

  /** Locks the directory and counts what an earlier process left in it, without reading any file whole. */
  static async open(options: SpoolOptions): Promise<Spool> {
    const lock = await createAndLock(options.dir, options.log);
    try {
      const found: Segment[] = [];
      for (const name of (await readdir(options.dir)).filter((n) => SEGMENT_NAME.test(n)).sort()) {
        const path = join(options.dir, name);
        found.push({ name, path, bytes: (await stat(path)).size, packets: await countSegmentLines(path) });
      }
      return new Spool(options, lock, found);
    } catch (error) {
      await lock.release();
      throw error;
    }
  }

  /** Acknowledged packets on disk that have not reached the queue yet. */
  get depth(): number {
    return this.pendingPackets;
  }

  /** Whether a typical callback (64 KiB at most) still fits. */
  get hasRoom(): boolean {
    return !this.taken && this.diskBytes + this.reservedBytes + 64 * 1024 <= this.options.maxBytes;
  }

  /** Resolves once the packet is fsync'd to disk; rejects when the spool is full or the disk fails. */
  async append(packet: ReceiptPacket): Promise<void> {
    if (this.taken) throw new SpoolTakenError("the spool directory was taken over by another ingest");
    const line = Buffer.from(`${JSON.stringify(packet)}\n`);
    if (this.diskBytes + this.reservedBytes + line.length > this.options.maxBytes) {
      throw new SpoolFullError(`spool is full (${this.options.maxBytes} bytes)`);
    }
    this.reservedBytes += line.length;
    try {
      await this.group.submit(line);
    } finally {
      this.reservedBytes -= line.length;
    }
  }

  /**
   * Closes the open segment and moves every closed one into the queue, oldest first. Stops at
   * the first failure and leaves the rest for the next call; a segment cut short is sent again
   * in full, which the idempotent worker makes harmless.
   */
  redrive(): Promise<void> {
    this.redriving ??= this.redriveAll().finally(() => {
      this.redriving = undefined;
    });
    return this.redriving;
  }

  /** Waits for pending appends, stops a re-drive between two jobs, closes the segment, releases the lock. */
  async close(): Promise<void> {
    this.closing = true;
    await this.group.drain();
    if (this.redriving) await Promise.allSettled([this.redriving]); // its caller has the outcome
    await this.writer.close();
    await this.lock.release();
  }

  /**
   * Moves closed segments of a directory whose ingest is gone (the caller holds its lock) into
   * this spool, to be re-driven like its own; returns the callbacks moved. A rename within one
   * file system is atomic, so after a crash each segment is in one directory or the other,
   * never in both or neither. Adopted segments do not count against `maxBytes`: counting them
   * would make this ingest refuse callbacks while the volume has the room their writer had.
   */
  async adopt(paths: readonly string[]): Promise<number> {
    let adopted = 0;
    let moved = false;
    try {
      for (const from of paths) {
        if (this.closing) throw new Error("the spool is closing");
        const before = await countSegmentLines(from);
        const name = this.writer.reserveName();
        const path = join(this.options.dir, name);
        await rename(from, path);
        moved = true;
        // Counted again once moved: a line its owner acknowledged was written before its path
        // check saw the segment in place, so before the rename, and is in this count. If this
        // count fails, the segment must still be held, at a depth over 0 (nothing re-drives a
        // spool of depth 0): the first count stands, or 1 if that was 0, since a line may have
        // been acknowledged after it. The re-drive sends every line either way.
        const packets = await countSegmentLines(path).catch((error: Error) => {
          this.options.log.warn({ segment: name, err: error.message }, "cannot recount an adopted segment");
          return Math.max(before, 1);
        });
        this.closed.push({ name, path, bytes: 0, packets, adopted: true });
        this.pendingPackets += packets;
        adopted += packets;
      }
    } finally {
      if (moved) await syncDirectory(this.options.dir);
    }
    return adopted;
  }

  /**
   * Once another ingest has taken the directory, what is left in it is that ingest's to re-drive;
   * this one spools nothing more (503 while Redis is away) until it is restarted.
   */
  private markTaken(reason: string): void {
    if (this.taken) return;
    this.taken = true;
    this.options.log.error(
      { dir: this.options.dir, reason },
      "another ingest took over this spool (its lock went stale): refusing to spool; restart this ingest",
    );
  }

  private addClosed(segment: Segment): void {
    this.closed.push(segment);
    this.diskBytes += segment.bytes;
    this.pendingPackets += segment.packets;
  }

  private async redriveAll(): Promise<void> {
    await this.writer.seal();
    while (this.closed.length > 0 && !this.closing && !this.taken) {
      const segment = this.closed[0]!;
      const sent = await this.redriveSegment(segment).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== "ENOENT") throw error;
        this.markTaken(`spool segment ${segment.path} is gone`); // moved by the ingest that took the directory
        return false;
      });
      if (!sent) return;
      await unlink(segment.path);
      this.closed.shift();
      if (!segment.adopted) this.diskBytes -= segment.bytes;
      this.pendingPackets -= segment.packets;
    }
  }

  /** Sends one segment on in jobs of bounded size; false if the spool began closing meanwhile. */
  private async redriveSegment(segment: Segment): Promise<boolean> {
    const {
      redriveBatchWeight: maxWeight = 100,
      redriveBatchBytes: maxBytes = 1024 * 1024,
      weightOf = () => 1,
    } = this.options;
    let batch: unknown[] = [];
    let batchWeight = 0;
    let batchBytes = 0;
    let lines = 0;
    for await (const line of segmentLines(segment.path)) {
      const value = this.decode(line, segment.name);
      const weight = weightOf(value);
      // A line that would take the batch past a cap starts the next one (a heavy line goes alone).
      if (batch.length > 0 && (batchWeight + weight > maxWeight || batchBytes + line.length > maxBytes)) {
        if (this.closing) return false;
        await this.options.enqueue(batch);
        batch = [];
        batchWeight = 0;
        batchBytes = 0;
      }
      batch.push(value);
      batchWeight += weight;
      batchBytes += line.length;
      lines += 1;
    }
    if (batch.length > 0) await this.options.enqueue(batch);
    this.options.log.info({ segment: segment.name, packets: lines }, "spooled callbacks re-driven into the queue");
    return true;
  }

  /**
   * Every line goes on to the queue as it is, never dropped here: the worker checks each
   * packet with the shared schema and quarantines what fails. A line that is not JSON (torn by
   * a crash mid-write, so never acknowledged, or damaged on disk) travels as its text.
   */
  private decode(line: Buffer, segmentName: string): unknown {
    const text = line.toString("utf8");
    try {
      return JSON.parse(text);
    } catch {
      this.options.log.warn({ segment: segmentName }, "an unreadable spool line goes to quarantine");
      return text;
    }
  }
}

/**
 * Creates the directory, makes its name durable (without the parent's fsync a crash can lose
 * the new directory and every segment in it) and locks it. A sweeper may remove the directory
 * between the two as an empty orphan: then it is created again.
 */
async function createAndLock(dir: string, log: Logger): Promise<SpoolLock> {
  for (let attempt = 1; ; attempt++) {
    await mkdir(dir, { recursive: true });
    await syncDirectory(dirname(resolve(dir)));
    try {
      return await lockSpoolDir(dir, log);
    } catch (error) {
      if (attempt === 3 || (error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
  }
}
