import { spawn, type ChildProcess } from "node:child_process";
import { Redis } from "ioredis";
import { freePort } from "./processes.js";
import { waitFor } from "./wait-for.js";
import { scratchDir } from "./scratch-dir.js";

/**
 * A private redis-server on a free loopback port, with AOF fsync'd on every write as in
 * docker-compose.yml, that a test may kill and restart. The shared Redis is never touched.
 */
export class TestRedisServer {
  private child: ChildProcess | undefined;
  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  static async start(): Promise<TestRedisServer> {
    const server = await TestRedisServer.reserve();
    await server.restart();
    return server;
  }

  /** A port and data directory, with no server on them until `restart()`: a Redis that is down. */
  static async reserve(): Promise<TestRedisServer> {
    return new TestRedisServer(await freePort(), scratchDir("redis"));
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts it again on the same port and data directory (AOF is replayed). */
  async restart(): Promise<void> {
    this.child = spawn(
      "redis-server",
      [
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--dir",
        this.dir,
        "--maxmemory-policy",
        "noeviction",
        "--enable-debug-command",
        "local",
      ],
      { stdio: "ignore" },
    );
    await waitFor(`redis-server on ${this.port}`, () => this.ping(), { timeoutMs: 10_000, intervalMs: 50 });
  }

  /** SIGKILL: no shutdown save, no goodbye; what survives is what the AOF had fsync'd. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
  }

  /** SIGSTOP: connections stay open and nothing is answered, as with a stalled disk or a long fork. */
  pause(): void {
    this.child?.kill("SIGSTOP");
  }

  resume(): void {
    this.child?.kill("SIGCONT");
  }

  /**
   * Slow rather than hung: a client keeps the server busy with back-to-back `DEBUG SLEEP`, so
   * every other command waits up to `sleepMs`. Returns what ends it.
   */
  slowDown(sleepMs: number): () => Promise<void> {
    const client = new Redis(this.url, { maxRetriesPerRequest: null });
    let slow = true;
    const sleeping = (async () => {
      while (slow) await client.call("DEBUG", "SLEEP", String(sleepMs / 1000));
    })();
    return async () => {
      slow = false;
      await sleeping;
      client.disconnect();
    };
  }

  private async ping(): Promise<boolean> {
    const client = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on("error", () => undefined);
    try {
      await client.connect();
      return (await client.ping()) === "PONG";
    } catch {
      return false;
    } finally {
      client.disconnect();
    }
  }
}
