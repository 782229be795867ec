import { connect, type Socket } from "node:net";

/**
 * An open-loop load generator for fault tests, the way Tencent calls us: request i is due at
 * start + i/rate whatever became of the earlier ones, and its latency counts from when it was
 * due, so a stalled server is charged for every request that fell due during the stall. Each
 * request has its own body (fault tests check every acknowledged callback one by one).
 *
 * Raw HTTP/1.1 over keep-alive sockets, one request in flight per socket; a request due while
 * every socket is busy opens another, as Tencent's callers would, up to `maxConnections`. Like
 * any well-behaved client (undici, Go's), it does not reuse a socket idle for longer than
 * IDLE_REUSE_MS: the server closes idle sockets after 5 s (Node's keepAliveTimeout, announced
 * in `Keep-Alive: timeout=5`), and a request written as it does so is lost in flight.
 * Loopback only, bounded in count and time: a request unanswered after `timeoutMs` is given up.
 */
const IDLE_REUSE_MS = 4000;

type PacedLoadOptions = {
  url: string;
  rate: number;
  count: number;
  body: (index: number) => string;
  timeoutMs: number;
  maxConnections?: number;
};

/** status 0: no reply (refused, reset, or given up after timeoutMs). */
type PacedOutcome = { status: number; latencyMs: number };
/** sentOverS: from the first request's due time until the last one went out (count/rate if the client kept pace). */
type PacedLoadResult = { outcomes: PacedOutcome[]; sentOverS: number; connectionsOpened: number };

export async function pacedLoad(options: PacedLoadOptions): Promise<PacedLoadResult> {
  const target = new URL(options.url);
  if (target.hostname !== "127.0.0.1") throw new Error("paced load targets 127.0.0.1 only");
  const head = `POST ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\nContent-Type: application/json\r\n`;
  const requests = Array.from({ length: options.count }, (_, i) => {
    const body = Buffer.from(options.body(i));
    return Buffer.concat([Buffer.from(`${head}Content-Length: ${body.length}\r\n\r\n`, "latin1"), body]);
  });
  const outcomes: PacedOutcome[] = new Array(options.count);
  const idle: Connection[] = [];
  const waiting: number[] = [];
  const maxConnections = options.maxConnections ?? 4000;
  const intervalMs = 1000 / options.rate;
  let open = 0;
  let opened = 0;
  let due = 0;
  let settled = 0;
  let lastSentMs = 0;
  const startedMs = performance.now();

  return new Promise((resolve) => {
    const finish = (index: number, status: number) => {
      outcomes[index] = { status, latencyMs: performance.now() - (startedMs + index * intervalMs) };
      settled += 1;
      if (settled === options.count) {
        for (const connection of idle) connection.close();
        resolve({ outcomes, sentOverS: (lastSentMs - startedMs) / 1000, connectionsOpened: opened });
      }
    };
    const run = (connection: Connection, index: number) => {
      lastSentMs = performance.now();
      connection.send(requests[index]!, options.timeoutMs, (status) => {
        finish(index, status);
        if (status === 0) {
          open -= 1;
          connection.close();
        } else idle.push(connection);
        dispatch();
      });
    };
    const dispatch = () => {
      while (waiting.length > 0) {
        const connection = idle.pop();
        if (connection && (connection.closed || connection.idleMs > IDLE_REUSE_MS)) {
          connection.close();
          open -= 1;
          continue;
        }
        if (connection) {
          run(connection, waiting.shift()!);
          continue;
        }
        if (open >= maxConnections) return;
        const index = waiting.shift()!;
        open += 1;
        opened += 1;
        Connection.open(target.port, options.timeoutMs).then(
          (fresh) => run(fresh, index),
          () => {
            open -= 1;
            finish(index, 0);
            dispatch();
          },
        );
      }
    };
    const tick = () => {
      const now = performance.now();
      while (due < options.count && startedMs + due * intervalMs <= now) waiting.push(due++);
      dispatch();
      if (due < options.count) setTimeout(tick, Math.max(0, startedMs + due * intervalMs - performance.now()));
    };
    tick();
  });
}

export type LoadSummary = {
  offered: number;
  ok: number;
  late: number;
  refused: number;
  unanswered: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  offeredPerS: number;
};

/** `late`: answered 200 but after `deadlineMs` (Tencent has given up by then and counts a failure). */
export function summariseLoad(result: PacedLoadResult, deadlineMs: number): LoadSummary {
  const { outcomes } = result;
  const latencies = outcomes.map((o) => o.latencyMs).sort((a, b) => a - b);
  const at = (q: number) =>
    Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN);
  return {
    offered: outcomes.length,
    ok: outcomes.filter((o) => o.status === 200 && o.latencyMs <= deadlineMs).length,
    late: outcomes.filter((o) => o.status === 200 && o.latencyMs > deadlineMs).length,
    refused: outcomes.filter((o) => o.status !== 200 && o.status !== 0).length,
    unanswered: outcomes.filter((o) => o.status === 0).length,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    maxMs: Math.round(latencies.at(-1) ?? Number.NaN),
    offeredPerS: Math.round((outcomes.length - 1) / result.sentOverS),
  };
}

/** One keep-alive socket, one request at a time; reads just enough of a reply to find its status and end. */
class Connection {
  private received: Buffer = Buffer.alloc(0);
  private onReply: ((status: number) => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastUsedMs = performance.now();

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.read(chunk));
    socket.on("error", () => this.settle(0));
    socket.on("close", () => this.settle(0));
  }

  static open(port: string, timeoutMs: number): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: "127.0.0.1", port: Number(port) });
      const timer = setTimeout(() => socket.destroy(new Error("connect timed out")), timeoutMs);
      socket.once("connect", () => {
        clearTimeout(timer);
        resolve(new Connection(socket));
      });
      socket.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  send(request: Buffer, timeoutMs: number, onReply: (status: number) => void): void {
    this.onReply = onReply;
    this.timer = setTimeout(() => this.settle(0), timeoutMs);
    this.socket.write(request);
  }

  get closed(): boolean {
    return this.socket.destroyed;
  }

  get idleMs(): number {
    return performance.now() - this.lastUsedMs;
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
    clearTimeout(this.timer);
    this.lastUsedMs = performance.now();
    const onReply = this.onReply;
    this.onReply = undefined;
    onReply?.(status);
  }
}

/**
 * The status of the HTTP/1.1 reply in `received` once all of it (headers and Content-Length
 * bytes of body) has arrived; undefined until then. One request is in flight per socket.
 */
export function completeReplyStatus(received: Buffer): number | undefined {
  const headerEnd = received.indexOf("\r\n\r\n");
  if (headerEnd < 0) return undefined;
  const head = received.toString("latin1", 0, headerEnd).toLowerCase();
  const lengthAt = head.indexOf("\r\ncontent-length:");
  const length = lengthAt < 0 ? 0 : Number.parseInt(head.slice(lengthAt + "\r\ncontent-length:".length), 10);
  if (received.length < headerEnd + 4 + length) return undefined;
  return Number(head.slice("http/1.1 ".length, "http/1.1 ".length + 3));
}
