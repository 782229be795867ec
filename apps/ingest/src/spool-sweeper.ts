import { readdir, rmdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "@receipt-sync/runtime";
import { SEGMENT_NAME, syncDirectory } from "./segment-writer.js";
import { LOCK_STALE_MS, lockSpoolDir, SpoolLockedError } from "./spool-lock.js";
import type { Spool } from "./spool.js";

/** An ingest's directory under SPOOL_DIR (INGEST_INSTANCE): one path segment, never "..", never hidden. */
export const INSTANCE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const LOCK_FILE = /^ingest\.lock\.\d+$/;

export type SpoolSweeperOptions = {
  /** SPOOL_DIR: every ingest sharing it has a directory here. */
  rootDir: string;
  /** This ingest's own directory under rootDir, never swept. */
  instance: string;
  spool: Pick<Spool, "adopt">;
  /** Adopt only while Redis answers: what is adopted is for re-driving now. */
  canAdopt: () => boolean;
  intervalMs: number;
  log: Logger;
  nowMs?: () => number;
};

export type SpoolSweeper = {
  /** One pass over the siblings; never rejects. Concurrent calls share one pass. */
  sweep: () => Promise<void>;
  /** Directories whose segments this ingest adopted. */
  adopted: () => number;
  /** Stops the timer and waits for a pass in progress. */
  stop: () => Promise<void>;
};

type Candidate = { dir: string; remove: boolean };

/**
 * Finds spool directories under SPOOL_DIR whose ingest is gone (scaled away, replaced by a
 * container with another hostname, killed) and moves their segments into this ingest's spool,
 * which re-drives them. A directory is taken only through its lock (spool-lock.ts): a live
 * owner's lock is fresh and the directory is left alone; of several sweepers that find the same
 * stale lock, exactly one takes it. The lock is held only while segments are renamed, so an
 * owner that comes back finds it free again within milliseconds. Segments an older version left
 * directly in SPOOL_DIR are adopted the same way, under SPOOL_DIR's own lock.
 *
 * A directory without a lock was either just made by an ingest that is about to lock it, or
 * left by one that shut down cleanly with callbacks still spooled: it is taken only once it has
 * not changed for LOCK_STALE_MS, so a starting ingest never loses its directory to a sweeper.
 */
export function startSpoolSweeper(options: SpoolSweeperOptions): SpoolSweeper {
  const { log } = options;
  const nowMs = options.nowMs ?? Date.now;
  let adopted = 0;
  let stopped = false;
  let sweeping: Promise<void> | undefined;

  const adoptFrom = async ({ dir, remove }: Candidate): Promise<void> => {
    const names = await listOrGone(dir);
    if (!names) return;
    if (!names.some((name) => LOCK_FILE.test(name))) {
      if (!remove && !names.some((name) => SEGMENT_NAME.test(name))) return;
      const changedMs = await stat(dir).then((info) => info.mtimeMs, ignoreGone);
      if (changedMs === undefined || (remove && nowMs() - changedMs < LOCK_STALE_MS)) return;
    }
    const lock = await lockSpoolDir(dir, log).catch((error: NodeJS.ErrnoException) => {
      if (error instanceof SpoolLockedError || error.code === "ENOENT") return undefined; // live, or taken and removed
      throw error;
    });
    if (!lock) return;
    let segments = 0;
    let packets = 0;
    try {
      // Listed again under the lock: what an owner wrote before it died is all there now.
      const paths = ((await listOrGone(dir)) ?? [])
        .filter((name) => SEGMENT_NAME.test(name))
        .sort()
        .map((name) => join(dir, name));
      packets = await options.spool.adopt(paths);
      segments = paths.length;
      if (segments > 0) await syncDirectory(dir);
    } finally {
      await lock.release();
    }
    if (remove) await rmdir(dir).catch(ignoreGone); // not empty: its owner came back meanwhile
    if (segments === 0) return;
    adopted += 1;
    log.warn({ dir, segments, packets }, "adopted the spool of an ingest that is gone; re-driving it");
  };

  const sweepOnce = async (): Promise<void> => {
    if (stopped || !options.canAdopt()) return;
    for (const candidate of await candidates(options.rootDir, options.instance)) {
      if (stopped || !options.canAdopt()) return;
      try {
        await adoptFrom(candidate);
      } catch (error) {
        log.error({ err: (error as Error).message, dir: candidate.dir }, "cannot adopt a spool directory; will retry");
      }
    }
  };

  const sweep = (): Promise<void> =>
    (sweeping ??= sweepOnce()
      .catch((error: unknown) =>
        log.error({ err: (error as Error).message, dir: options.rootDir }, "cannot look for orphaned spools"),
      )
      .finally(() => {
        sweeping = undefined;
      }));
  const timer = setInterval(() => void sweep(), options.intervalMs);
  timer.unref();
  return {
    sweep,
    adopted: () => adopted,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await sweeping;
    },
  };
}

/** SPOOL_DIR itself (segments of an older version), then every other ingest's directory. */
async function candidates(rootDir: string, instance: string): Promise<Candidate[]> {
  const entries = await readdir(rootDir, { withFileTypes: true });
  // Case-insensitively: on a case-insensitive file system "A" is our own directory.
  const siblings = entries.filter(
    (entry) =>
      entry.isDirectory() && INSTANCE_NAME.test(entry.name) && entry.name.toLowerCase() !== instance.toLowerCase(),
  );
  return [
    { dir: rootDir, remove: false },
    ...siblings.map((entry) => ({ dir: join(rootDir, entry.name), remove: true })),
  ];
}

async function listOrGone(dir: string): Promise<string[] | undefined> {
  return readdir(dir).catch(ignoreGone);
}

/** ENOENT: another sweeper took it first; ENOTEMPTY/EEXIST: an ingest is using it again. */
function ignoreGone(error: NodeJS.ErrnoException): undefined {
  if (error.code === "ENOENT" || error.code === "ENOTEMPTY" || error.code === "EEXIST") return undefined;
  throw error;
}
