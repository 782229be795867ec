import { open, stat, type FileHandle } from "node:fs/promises";
import { join } from "node:path";

export type Segment = { name: string; path: string; packets: number; bytes: number };

/** What the writer tells its spool: lines synced, a segment closed, a size learnt after a failure. */
type SegmentEvents = {
  synced: (packets: number, bytes: number) => void;
  sealed: (segment: Segment) => void;
  resized: (deltaBytes: number) => void;
};

type OpenSegment = Segment & { handle: FileHandle; ino: number; dev: number };

export const SEGMENT_NAME = /^segment-(\d+)\.jsonl$/;

/** The open segment is no longer where this writer put it: another ingest took the directory over. */
export class SegmentMovedError extends Error {}

/**
 * The spool's one writer. Creating, writing, syncing and closing segments all run in one chain
 * (`exclusive`), so closing the open segment for a re-drive can never cut into a write group:
 * it waits for the group's fsync, and the next group opens a new segment.
 *
 * A segment is closed once the next group would take it past `segmentBytes`; a group is never
 * split across two segments (a single group larger than that gets a segment of its own).
 */
export class SegmentWriter {
  private current: OpenSegment | undefined;
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly dir: string,
    private readonly segmentBytes: number,
    private nextSegment: number,
    private readonly events: SegmentEvents,
  ) {}

  /** Appends `lines` to the open segment and fsyncs them; resolves once they are durable. */
  write(lines: Buffer[]): Promise<void> {
    return this.exclusive(() => this.writeGroup(lines));
  }

  /** Closes the open segment, if it holds anything, after any write in progress. */
  seal(): Promise<void> {
    return this.exclusive(async () => {
      if (this.current && this.current.bytes > 0) await this.closeCurrent();
    });
  }

  /** Closes the open segment even if empty; the writer is not used after this. */
  close(): Promise<void> {
    return this.exclusive(() => this.closeCurrent());
  }

  private exclusive<T>(op: () => Promise<T>): Promise<T> {
    const result = this.tail.then(op);
    // The chain only orders operations; each failure is reported to its own caller.
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  private async writeGroup(lines: Buffer[]): Promise<void> {
    const data = lines.length === 1 ? lines[0]! : Buffer.concat(lines);
    if (this.current && this.current.bytes > 0 && this.current.bytes + data.length > this.segmentBytes)
      await this.closeCurrent();
    const segment = this.current ?? (await this.createSegment());
    try {
      await writeFully(segment.handle, data);
      await segment.handle.datasync();
      await ensureInPlace(segment);
    } catch (error) {
      // Which of these bytes reached the disk is unknown. The callbacks are refused (a 503 tells
      // Tencent they were not kept); the segment takes no more writes, and whatever of it is on
      // disk is re-driven like the rest.
      await this.learnSize(segment);
      await this.closeCurrent();
      throw error;
    }
    segment.bytes += data.length;
    segment.packets += lines.length;
    this.events.synced(lines.length, data.length);
  }

  /** A segment name this writer will never use itself: for a segment moved in from elsewhere. */
  reserveName(): string {
    return `segment-${String(this.nextSegment++).padStart(12, "0")}.jsonl`;
  }

  private async createSegment(): Promise<OpenSegment> {
    const name = this.reserveName();
    const path = join(this.dir, name);
    const handle = await open(path, "ax");
    let identity: { ino: number; dev: number };
    try {
      identity = await handle.stat();
      // Without this the new name may not survive a crash, and the fsync'd lines in it with it.
      await syncDirectory(this.dir);
    } catch (error) {
      await handle.close();
      throw error;
    }
    this.current = { name, path, handle, ino: identity.ino, dev: identity.dev, packets: 0, bytes: 0 };
    return this.current;
  }

  private async closeCurrent(): Promise<void> {
    const segment = this.current;
    if (!segment) return;
    this.current = undefined;
    this.events.sealed({ name: segment.name, path: segment.path, packets: segment.packets, bytes: segment.bytes });
    await segment.handle.close();
  }

  private async learnSize(segment: OpenSegment): Promise<void> {
    // If even stat fails, keep the old figure: the write's own error is what gets reported.
    const size = await segment.handle.stat().then(
      (info) => info.size,
      () => segment.bytes,
    );
    this.events.resized(size - segment.bytes);
    segment.bytes = size;
  }
}

/**
 * A sweeper that judged this ingest gone (its lock untouched for 30 s: an event loop stalled
 * that long, or a clock skewed between hosts) renames its segments away and re-drives them,
 * and may delete one before these lines reached it. Checked after the fsync, before anything
 * is acknowledged: a line the check passes was in the file before it was moved, so whoever
 * re-drives the file sends it; the lines it fails are refused (503), not lost.
 */
async function ensureInPlace(segment: OpenSegment): Promise<void> {
  // One stat per group, beside its fsync; the file's own identity was taken when it was created.
  const here = await stat(segment.path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });
  if (here?.ino !== segment.ino || here.dev !== segment.dev)
    throw new SegmentMovedError(`spool segment ${segment.path} was moved away by another ingest`);
}

/** FileHandle.write may write less than asked; the rest must follow before the fsync. */
async function writeFully(handle: FileHandle, data: Buffer): Promise<void> {
  for (let offset = 0; offset < data.length;) {
    const { bytesWritten } = await handle.write(data, offset, data.length - offset);
    if (bytesWritten === 0) throw new Error("spool write made no progress");
    offset += bytesWritten;
  }
}

export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
