import { fork } from "node:child_process";
import { connect, type Socket } from "node:net";
import { completeReplyStatus } from "@receipt-sync/testing";

type LatencyOptions = {
  url: string;
  body: string;
  /** Requests per second, evenly spaced. */
  rate: number;
  /** Measured seconds, after `warmupS` seconds at the same rate that are not measured. */
  durationS: number;
  warmupS: number;
  connections: number;
};
export type LatencyWindow = { sent: number; ok: number; elapsedS: number; latenciesMs: number[] };
export type LatencySummary = {
  windows: number;
  sent: number;
  ok: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  windowP99Ms: number[];
};

/**
 * Open-loop latency at a fixed offered rate: request i is due at start + i/rate, whatever the
 * earlier replies did, and its latency counts from when it was due, so a stall shows up in the
 * percentiles instead of silently lowering the rate ("coordinated omission"). autocannon's
 * rate limit cannot do this: it sends each second's whole budget as one burst.
 *
 * The probe runs in a process of its own, so the benchmark's other work cannot stall it, and
 * speaks HTTP/1.1 over raw keep-alive sockets with the request bytes built once: a probe that
 * burns CPU on a 2-core machine measures its own scheduling, not the server's.
 */
export function pacedLatency(options: LatencyOptions): Promise<LatencyWindow> {
  const child = fork(new URL(import.meta.url), [PROBE_FLAG], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return new Promise((resolve, reject) => {
    child.once("message", (result: LatencyWindow) => {
      child.disconnect();
      resolve(result);
    });
    child.once("exit", (code) => reject(new Error(`latency probe exited with ${code} before reporting`)));
    child.send(options);
  });
}

/** Pools several windows' latencies into one distribution, and keeps each window's p99 too. */
export function summariseLatency(windows: LatencyWindow[]): LatencySummary {
  const pooled = windows.flatMap((w) => w.latenciesMs).sort((a, b) => a - b);
  const sent = windows.reduce((n, w) => n + w.sent, 0);
  return {
    windows: windows.length,
    sent,
    ok: windows.reduce((n, w) => n + w.ok, 0),
    rps: sent / windows.reduce((s, w) => s + w.elapsedS, 0),
    p50Ms: percentile(pooled, 0.5),
    p99Ms: percentile(pooled, 0.99),
    maxMs: pooled.at(-1) ?? Number.NaN,
    windowP99Ms: windows.map((w) =>
      percentile(
        [...w.latenciesMs].sort((a, b) => a - b),
        0.99,
      ),
    ),
  };
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

/** The probe itself, in the current process. */
async function probe(options: LatencyOptions): Promise<LatencyWindow> {
  const target = new URL(options.url);
  const body = Buffer.from(options.body);
  const request = Buffer.concat([
    Buffer.from(
      `POST ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
      "latin1",
    ),
    body,
  ]);
  const pool: Connection[] = [];
  try {
    for (let i = 0; i < options.connections; i++)
      pool.push(await Connection.open(target.hostname, Number(target.port)));
    // The first second after a quiet spell is not the steady state: JIT and heaps are cold on
    // both ends. It runs at the same rate, and only what follows is measured.
    if (options.warmupS > 0) await paced(pool, request, options.rate, options.warmupS);
    return await paced(pool, request, options.rate, options.durationS);
  } finally {
    for (const connection of pool) connection.close();
  }
}

/** Sends `rate * durationS` requests evenly spaced over `pool`; resolves when all are answered. */
function paced(pool: Connection[], request: Buffer, rate: number, durationS: number): Promise<LatencyWindow> {
  const total = Math.round(rate * durationS);
  const intervalMs = 1000 / rate;
  const latenciesMs: number[] = [];
  const waiting: number[] = []; // due times of requests with no free connection yet
  let sent = 0;
  let ok = 0;
  const startedMs = performance.now();

  return new Promise((resolve, reject) => {
    // Round robin over the connections, so none sits idle long enough for the server to close it.
    const dispatch = () => {
      while (waiting.length > 0 && pool.length > 0) {
        const dueMs = waiting.shift()!;
        const connection = pool.shift()!;
        connection.send(request, (status) => {
          if (status === 0) return reject(new Error("latency probe: a connection failed mid-request"));
          latenciesMs.push(performance.now() - dueMs);
          if (status === 200) ok += 1;
          pool.push(connection);
          dispatch();
          if (latenciesMs.length === total)
            resolve({ sent, ok, elapsedS: (performance.now() - startedMs) / 1000, latenciesMs });
        });
      }
    };
    const tick = () => {
      const now = performance.now();
      while (sent < total && startedMs + sent * intervalMs <= now) {
        waiting.push(startedMs + sent * intervalMs);
        sent += 1;
      }
      dispatch();
      if (sent < total) setTimeout(tick, Math.max(0, startedMs + sent * intervalMs - performance.now()));
    };
    tick();
  });
}

/** One keep-alive socket with at most one request in flight; reads just enough to find the reply's end. */
class Connection {
  private received: Buffer = Buffer.alloc(0);
  private onReply: ((status: number) => void) | undefined;

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.read(chunk));
    socket.on("error", () => this.settle(0));
    socket.on("close", () => this.settle(0));
  }

  static open(host: string, port: number): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port }, () => resolve(new Connection(socket)));
      socket.once("error", reject);
    });
  }

  /** `onReply` gets the status code, or 0 if the connection failed. */
  send(request: Buffer, onReply: (status: number) => void): void {
    this.onReply = onReply;
    this.socket.write(request);
  }

  close(): void {
    this.socket.destroy();
  }

  private read(chunk: Buffer): void {
    this.received = this.received.length === 0 ? chunk : Buffer.concat([this.received, chunk]);
    const status = completeReplyStatus(this.received);
    if (status === undefined) return;
    this.received = Buffer.alloc(0);
    this.settle(status);
  }

  private settle(status: number): void {
    const onReply = this.onReply;
    this.onReply = undefined;
    onReply?.(status);
  }
}

const PROBE_FLAG = "--paced-latency-probe";
if (process.argv.includes(PROBE_FLAG) && process.send) {
  process.once("message", (options: LatencyOptions) => {
    void probe(options).then((summary) => process.send!(summary));
  });
}
