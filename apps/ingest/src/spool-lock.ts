import { open, readdir, readFile, stat, unlink, utimes } from "node:fs/promises";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { ConfigError, type Logger } from "@receipt-sync/runtime";

/**
 * One ingest per spool directory (SPOOL_DIR/INGEST_INSTANCE), and one sweeper adopting it once
 * its ingest is gone (spool-sweeper.ts). Two ingests sharing one would re-drive and delete each
 * other's open segments. The lock is a file `ingest.lock.<generation>` created with O_EXCL and
 * holding the owner's pid and host; the owner touches it every HEARTBEAT_MS. The newest
 * generation is the lock in force.
 *
 * A lock is stale, and is taken over, when its owner is gone: on the same host, when its pid
 * is dead or is our own (a container restarted as pid 1 again); on any host (a shared volume),
 * when it has not been touched for STALE_MS. Taking over creates the next generation with
 * O_EXCL, so of several ingests that find the same stale lock exactly one wins; the others
 * then find the winner's lock, live.
 */
export class SpoolLockedError extends ConfigError {}

const LOCK_FILE = /^ingest\.lock\.(\d+)$/;
const HEARTBEAT_MS = 10_000;
const STALE_MS = 30_000;
/** A lock untouched this long is stale; a directory without one is left alone this long after it changed. */
export const LOCK_STALE_MS = STALE_MS;
// Directories locked by this process: a second open in one process is refused too.
const heldHere = new Set<string>();

export type SpoolLock = { release: () => Promise<void> };

type Owner = { pid: number; host: string };

export async function lockSpoolDir(dir: string, log: Logger): Promise<SpoolLock> {
  const key = resolve(dir);
  if (heldHere.has(key))
    throw new SpoolLockedError(
      `config error: spool directory ${dir} is in use by process ${process.pid} (this one); give each ingest sharing SPOOL_DIR its own INGEST_INSTANCE`,
    );
  // Claimed before the first await: two calls in one process would otherwise both read our
  // own pid in the other's fresh lock, judge it stale (a restarted container's pid) and both win.
  heldHere.add(key);
  try {
    const path = await take(dir);
    return held(key, path, log);
  } catch (error) {
    heldHere.delete(key);
    throw error;
  }
}

/** Creates the next lock generation once the newest is stale; returns its path. */
async function take(dir: string): Promise<string> {
  const me: Owner = { pid: process.pid, host: hostname() };
  for (let attempt = 0; attempt < 5; attempt++) {
    const newest = await newestLock(dir);
    if (newest) {
      const found = await readLock(newest.path);
      if (found === undefined) continue; // released meanwhile
      if (!isStale(found.owner, found.touchedMs, me)) {
        const who = found.owner ? `process ${found.owner.pid} on ${found.owner.host}` : "another process";
        throw new SpoolLockedError(
          `config error: spool directory ${dir} is in use by ${who} (lock file ${newest.path}); give each ingest sharing SPOOL_DIR its own INGEST_INSTANCE, or remove the lock file if that process is gone`,
        );
      }
    }
    const path = join(dir, `ingest.lock.${(newest?.generation ?? -1) + 1}`);
    if (await create(path, me)) {
      await removeOlderLocks(dir, path);
      return path;
    }
  }
  throw new SpoolLockedError(
    `config error: spool directory ${dir}: could not take its lock; other ingests keep taking it`,
  );
}

async function newestLock(dir: string): Promise<{ generation: number; path: string } | undefined> {
  let newest: { generation: number; path: string } | undefined;
  for (const name of await readdir(dir)) {
    const generation = Number(LOCK_FILE.exec(name)?.[1] ?? -1);
    if (generation >= 0 && generation > (newest?.generation ?? -1)) newest = { generation, path: join(dir, name) };
  }
  return newest;
}

async function removeOlderLocks(dir: string, ours: string): Promise<void> {
  for (const name of await readdir(dir)) {
    const path = join(dir, name);
    if (LOCK_FILE.test(name) && path !== ours) {
      await unlink(path).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== "ENOENT") throw error;
      });
    }
  }
}

async function create(path: string, me: Owner): Promise<boolean> {
  try {
    const handle = await open(path, "wx");
    try {
      await handle.writeFile(JSON.stringify(me));
      await handle.sync();
    } finally {
      await handle.close();
    }
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
}

async function readLock(path: string): Promise<{ owner: Owner | undefined; touchedMs: number } | undefined> {
  try {
    const [text, info] = await Promise.all([readFile(path, "utf8"), stat(path)]);
    let owner: Owner | undefined;
    try {
      owner = JSON.parse(text) as Owner;
    } catch {
      owner = undefined; // torn by a crash while it was being written: judged by its age alone
    }
    return { owner, touchedMs: info.mtimeMs };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

function isStale(owner: Owner | undefined, touchedMs: number, me: Owner): boolean {
  if (Date.now() - touchedMs > STALE_MS) return true;
  if (!owner || owner.host !== me.host) return false;
  return owner.pid === me.pid || !isAlive(owner.pid);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"; // alive, someone else's
  }
}

function held(key: string, path: string, log: Logger): SpoolLock {
  const heartbeat = setInterval(() => {
    const nowS = Date.now() / 1000;
    utimes(path, nowS, nowS).catch((error: Error) =>
      log.error(
        { err: error.message, path },
        "cannot touch the spool lock; another ingest may take the directory over",
      ),
    );
  }, HEARTBEAT_MS);
  heartbeat.unref();
  let released: Promise<void> | undefined;
  return {
    release: () =>
      (released ??= (async () => {
        clearInterval(heartbeat);
        heldHere.delete(key);
        await unlink(path).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== "ENOENT") throw error;
        });
      })()),
  };
}
