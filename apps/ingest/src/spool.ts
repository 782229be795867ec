import { mkdir, open, readdir, readFile, unlink, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import type { ReceiptPacket } from "@receipt-sync/protocol";
import { GroupCommit, type Logger } from "@receipt-sync/runtime";

/**
 * A durable local fallback for when Redis cannot take a callback. Tencent does not retry this
 * callback by default, so a packet we acknowledge must be on disk first: appends are fsync'd
 * before `append` resolves (many concurrent appends share one fsync). Packets live in
 * newline-delimited JSON segment files; `redrive` moves closed segments into the queue and
 * deletes each only after Redis took all of it. Segments left by a previous process are
 * re-driven too, so the spool survives a restart.
 */
export type SpoolOptions = {
  dir: string;
  maxBytes: number;
  /** Puts packets into the queue; resolves once Redis has them. */
  enqueue: (packets: readonly unknown[]) => Promise<void>;
  log: Logger;
  /** Packets per job when re-driving. */
  redriveBatch?: number;
};

export class SpoolFullError extends Error {}

const SEGMENT = /^segment-(\d+)\.jsonl$/;

export class Spool {
  private current: { handle: FileHandle; path: string } | undefined;
  private nextSegment = 0;
  private bytes = 0;
  private pendingPackets = 0;
  private redriving: Promise<void> | undefined;
  private lastWrite: Promise<void> | undefined;
  private readonly writer: GroupCommit<Buffer>;

  private constructor(private readonly options: SpoolOptions) {
    this.writer = new GroupCommit<Buffer>({
      maxGroupSize: 1000,
      maxConcurrentCommits: 1,
      commit: (lines) => this.writeAndSync(lines),
    });
  }

  /** Opens the spool directory, counting what a previous process left behind. */
  static async open(options: SpoolOptions): Promise<Spool> {
    const spool = new Spool(options);
    await mkdir(options.dir, { recursive: true });
    for (const name of await spool.segments()) {
      spool.nextSegment = Math.max(spool.nextSegment, Number(SEGMENT.exec(name)![1]) + 1);
      const text = await readFile(join(options.dir, name), "utf8");
      spool.bytes += Buffer.byteLength(text);
      spool.pendingPackets += text.split("\n").filter((l) => l !== "").length;
    }
    return spool;
  }

  /** Packets on disk that have not reached the queue yet. */
  get depth(): number {
    return this.pendingPackets;
  }

  /** Whether a typical callback (64 KiB at most) still fits. */
  get hasRoom(): boolean {
    return this.bytes + 64 * 1024 <= this.options.maxBytes;
  }

  /** Resolves once the packet is fsync'd to disk; rejects when the spool is full or the disk fails. */
  async append(packet: ReceiptPacket): Promise<void> {
    const line = Buffer.from(`${JSON.stringify(packet)}\n`);
    if (this.bytes + line.length > this.options.maxBytes) throw new SpoolFullError(`spool is full (${this.options.maxBytes} bytes)`);
    this.bytes += line.length;
    try {
      await this.writer.submit(line);
      this.pendingPackets += 1;
    } catch (error) {
      this.bytes -= line.length;
      throw error;
    }
  }

  /**
   * Moves every closed segment into the queue (the open one is closed first). Stops at the
   * first failure and leaves the rest for the next call; a segment partly re-driven before a
   * failure is sent again in full, which the idempotent worker makes harmless.
   */
  redrive(): Promise<void> {
    this.redriving ??= this.redriveAll().finally(() => {
      this.redriving = undefined;
    });
    return this.redriving;
  }

  async close(): Promise<void> {
    await this.writer.drain();
    await this.redriving?.catch(() => undefined);
    await this.current?.handle.close();
    this.current = undefined;
  }

  private async redriveAll(): Promise<void> {
    if (this.pendingPackets === 0) return;
    await this.rotate();
    const batch = this.options.redriveBatch ?? 100;
    for (const name of await this.segments()) {
      if (this.current && join(this.options.dir, name) === this.current.path) continue;
      const path = join(this.options.dir, name);
      const text = await readFile(path, "utf8");
      const packets = this.parseSegment(name, text);
      for (let i = 0; i < packets.length; i += batch) await this.options.enqueue(packets.slice(i, i + batch));
      await unlink(path);
      this.bytes -= Buffer.byteLength(text);
      this.pendingPackets -= packets.length;
      this.options.log.info({ segment: name, packets: packets.length }, "spooled callbacks re-driven into the queue");
    }
  }

  /**
   * Every line goes on to the queue as it is, never dropped here: the worker checks each
   * packet with the shared schema and quarantines what fails. A line that is not JSON (torn by
   * a crash mid-write, so never acknowledged, or damaged on disk) travels as its text.
   */
  private parseSegment(name: string, text: string): unknown[] {
    const packets: unknown[] = [];
    for (const line of text.split("\n")) {
      if (line === "") continue;
      try {
        packets.push(JSON.parse(line));
      } catch {
        this.options.log.warn({ segment: name }, "an unreadable spool line goes to quarantine");
        packets.push(line);
      }
    }
    return packets;
  }

  private writeAndSync(lines: Buffer[]): Promise<void> {
    this.lastWrite = (async () => {
      if (!this.current) {
        const path = join(this.options.dir, `segment-${String(this.nextSegment++).padStart(12, "0")}.jsonl`);
        this.current = { handle: await open(path, "a"), path };
      }
      await this.current.handle.write(Buffer.concat(lines));
      await this.current.handle.datasync();
    })();
    return this.lastWrite;
  }

  /** New appends go to a new segment; the old one is closed once its last write is synced. */
  private async rotate(): Promise<void> {
    const old = this.current;
    this.current = undefined;
    await this.lastWrite?.catch(() => undefined); // its failure was reported to its own appenders
    await old?.handle.close();
  }

  private async segments(): Promise<string[]> {
    return (await readdir(this.options.dir)).filter((name) => SEGMENT.test(name)).sort();
  }
}
