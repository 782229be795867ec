import type { ReceiptPacket } from "@receipt-sync/protocol";
import {
  openReceiptQueue,
  addReceiptJob,
  checkedJob,
  uncheckedJob,
  createRedis,
  receiptPacketWeight,
  type ReceiptJobData,
  type RedisClient,
} from "@receipt-sync/queue";
import { GroupCommit, type Logger, type ShutdownStep } from "@receipt-sync/runtime";
import { Queue } from "bullmq";
import { join } from "node:path";
import { RedisBreaker, type BreakerState } from "./redis-breaker.js";
import { Spool } from "./spool.js";
import { startSpoolSweeper } from "./spool-sweeper.js";

/** Where an accepted packet was made durable: the queue, or the local spool while Redis is away. */
export type StoredIn = "queue" | "spool";

export type Readiness = {
  status: "ready" | "degraded" | "unavailable";
  queue: "ok" | "unreachable";
  breaker: BreakerState;
  spooled: number;
};

export type DurableStoreOptions = {
  redisUrl: string;
  queuePrefix: string;
  /** An add Redis has not confirmed by then counts as refused. */
  enqueueTimeoutMs: number;
  /** `dir` is SPOOL_DIR: this ingest spools into `dir/instance` and adopts what others left in `dir`. */
  spool: { dir: string; instance: string; maxBytes: number; segmentBytes: number };
  log: Logger;
  timing?: Partial<StoreTiming>;
};

type StoreTiming = {
  probeIntervalMs: number;
  probeTimeoutMs: number;
  heartbeatMs: number;
  redriveIntervalMs: number;
  sweepIntervalMs: number;
};
// A last re-drive at shutdown waits this long for Redis to connect (reconnects are <= 500 ms apart).
const SHUTDOWN_CONNECT_MS = 1000;
const DEFAULT_TIMING: StoreTiming = {
  probeIntervalMs: 250,
  probeTimeoutMs: 500,
  heartbeatMs: 1000,
  redriveIntervalMs: 1000,
  // A sweep reads SPOOL_DIR and each sibling's lock: a few small reads per ingest.
  sweepIntervalMs: 5000,
};

export type DurableStore = {
  /** Resolves once the packet is in Redis or fsync'd to the spool; rejects when neither could keep it. */
  store: (packet: ReceiptPacket) => Promise<StoredIn>;
  readiness: () => Readiness;
  /** For Bull Board. */
  queue: Queue<ReceiptJobData>;
  /** The producer's connection, for the odd write that is not a callback (the over-limit alert). */
  redis: RedisClient;
  spoolDepth: () => number;
  breakerOpen: () => boolean;
  /** Spool directories of gone ingests whose callbacks this one adopted. */
  orphansAdopted: () => number;
  /** Flush, a last re-drive if Redis answers, close the spool, the queue and the connection. */
  shutdownSteps: (stepMs: number) => ShutdownStep[];
};

/** A job's weight cap, in receiptPacketWeight units: 100 callbacks of ordinary size. */
const JOB_WEIGHT = 100;

/** A spool line's weight: as a packet's, or 1 for a line that is not one (it goes to quarantine). */
function lineWeight(value: unknown): number {
  try {
    const weight = receiptPacketWeight(value as ReceiptPacket);
    return Number.isFinite(weight) ? weight : 1;
  } catch {
    return 1; // not shaped like a packet: the worker will quarantine it
  }
}

class BreakerOpenError extends Error {}
class SlowRedisError extends Error {}
type Waiting = { packet: ReceiptPacket; sinceMs: number };

/**
 * The ingest's storage: the Redis producer, the spool, the breaker between them, readiness and
 * re-drive. Tencent does not retry this callback by default, so `store` never answers late
 * and never loses what it answered for: with the breaker closed a callback joins the next job
 * (group commit: one add in flight, callbacks arriving meanwhile share the next); if that add
 * is refused or times out, the breaker opens and the callback, with every later one, is
 * fsync'd to the spool at once, until a PING succeeds and the spool is re-driven into the
 * queue. Adds in flight: one from callbacks, one from the re-drive, never more.
 *
 * The limit: a callback on the Redis path waits at most about two enqueue timeouts (its turn,
 * then its add) before it is spooled; on the spool path, one group fsync.
 */
export async function openDurableStore(options: DurableStoreOptions): Promise<DurableStore> {
  const { log } = options;
  const timing = { ...DEFAULT_TIMING, ...options.timing };
  const redis = createRedis(options.redisUrl, "producer", options.enqueueTimeoutMs);
  // No version check: its INFO runs once, and if it fails (Redis hung just then) the Queue
  // never becomes usable. The worker checks the version on its own connection.
  const queue = openReceiptQueue(redis, options.queuePrefix, { skipVersionCheck: true });
  // onClose runs only from a probe, after start(), by when `redrive` and `sweeper` exist.
  const breaker = new RedisBreaker({
    redis,
    ...timing,
    onClose: () => {
      redrive();
      void sweeper.sweep();
    },
    log,
  });
  // While the breaker is open, every reconnect attempt (two a second) fails: the breaker said
  // so once at warn, the attempts are debug.
  const connectionError = (error: Error) =>
    (breaker.isOpen ? log.debug : log.warn).call(log, { err: error.message }, "redis connection error");
  redis.on("error", connectionError);
  queue.on("error", connectionError);
  const add = async (job: ReceiptJobData) => {
    if (breaker.isOpen) throw new BreakerOpenError("Redis is not answering");
    try {
      await addReceiptJob(queue, job, options.enqueueTimeoutMs);
    } catch (error) {
      breaker.trip(error);
      throw error;
    }
  };
  const { dir: rootDir, instance, ...limits } = options.spool;
  const spool = await Spool.open({
    ...limits,
    dir: join(rootDir, instance),
    log,
    // Lines read back from disk are parsed again by the worker.
    enqueue: (lines) => add(uncheckedJob(lines)),
    redriveBatchWeight: JOB_WEIGHT,
    weightOf: lineWeight,
  }).catch(async (error: unknown) => {
    breaker.stop();
    await queue.close();
    redis.disconnect();
    throw error;
  });
  const producer = new GroupCommit<Waiting>({
    // Jobs are capped in weight (about ten rows a unit), not callbacks: a very large callback
    // forms a job alone, and the worker's transactions stay bounded.
    maxGroupSize: JOB_WEIGHT,
    sizeOf: (waiting) => receiptPacketWeight(waiting.packet),
    maxConcurrentCommits: 1,
    commit: async (group) => {
      // Callbacks queue behind the add in flight. A Redis that is slow rather than hung (every
      // add just under the timeout) would make them wait add after add, past Tencent's 2 s: a
      // group whose oldest callback waited longer than an add may take counts as a timeout.
      const waitedMs = performance.now() - group[0]!.sinceMs;
      if (waitedMs > options.enqueueTimeoutMs) {
        const error = new SlowRedisError(`callbacks waited ${Math.round(waitedMs)} ms for an add`);
        breaker.trip(error);
        throw error;
      }
      await add(checkedJob(group.map((waiting) => waiting.packet)));
    },
  });
  const redrive = () => {
    if (spool.depth === 0 || breaker.isOpen) return;
    spool
      .redrive()
      .catch((error: unknown) =>
        log.warn({ err: (error as Error).message, spooled: spool.depth }, "re-drive stopped; will retry"),
      );
  };
  const redriveTimer = setInterval(redrive, timing.redriveIntervalMs);
  redriveTimer.unref();
  const sweeper = startSpoolSweeper({
    rootDir,
    instance,
    spool,
    canAdopt: () => !breaker.isOpen,
    intervalMs: timing.sweepIntervalMs,
    log,
  });
  if (spool.depth > 0)
    log.warn({ spooled: spool.depth }, "spool holds callbacks from an earlier run; re-driving once Redis answers");
  await breaker.start(Math.min(options.enqueueTimeoutMs, 1000));
  void sweeper.sweep();

  const store = async (packet: ReceiptPacket): Promise<StoredIn> => {
    if (!breaker.isOpen) {
      try {
        await producer.submit({ packet, sinceMs: performance.now() });
        return "queue";
      } catch {
        // Refused, timed out, or the breaker opened while it waited: the breaker has logged
        // it once, and the spool keeps the callback.
      }
    }
    await spool.append(packet);
    return "spool";
  };

  const readiness = (): Readiness => {
    const queueUp = !breaker.isOpen;
    const status = queueUp && spool.depth === 0 ? "ready" : queueUp || spool.hasRoom ? "degraded" : "unavailable";
    return { status, queue: queueUp ? "ok" : "unreachable", breaker: breaker.state, spooled: spool.depth };
  };

  const lastRedrive = async () => {
    clearInterval(redriveTimer);
    if (spool.depth === 0) return;
    if (!(await breaker.probe(SHUTDOWN_CONNECT_MS))) {
      log.warn({ spooled: spool.depth }, "Redis does not answer: the spool stays on disk for the next start");
      return;
    }
    await spool.redrive();
    log.info("spool re-driven before exit");
  };

  const shutdownSteps = (stepMs: number): ShutdownStep[] => [
    { name: "flush accepted callbacks", timeoutMs: stepMs, run: () => producer.drain() },
    // Before the last re-drive, so that nothing is adopted that it would not send on.
    { name: "stop adopting orphaned spools", timeoutMs: stepMs, run: () => sweeper.stop() },
    { name: "re-drive the spool if Redis answers", timeoutMs: stepMs, run: lastRedrive },
    {
      name: "close the spool",
      timeoutMs: stepMs,
      run: async () => {
        clearInterval(redriveTimer);
        breaker.stop();
        await sweeper.stop();
        await spool.close();
      },
    },
    { name: "close queue", timeoutMs: stepMs, run: () => queue.close() },
    // A Redis that is away cannot be told goodbye: then the socket is just dropped.
    {
      name: "close redis",
      timeoutMs: stepMs,
      run: () =>
        redis.quit().then(
          () => undefined,
          () => redis.disconnect(),
        ),
    },
  ];

  return {
    store,
    readiness,
    queue,
    redis,
    spoolDepth: () => spool.depth,
    breakerOpen: () => breaker.isOpen,
    orphansAdopted: sweeper.adopted,
    shutdownSteps,
  };
}
