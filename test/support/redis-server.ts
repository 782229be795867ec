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
  private constructor(readonly port: number, private readonly dir: string) {}

  static async start(): Promise<TestRedisServer> {
    const server = new TestRedisServer(await freePort(), scratchDir("redis"));
    await server.restart();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts it again on the same port and data directory (AOF is replayed). */
  async restart(): Promise<void> {
    this.child = spawn(
      "redis-server",
      ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--dir", this.dir, "--maxmemory-policy", "noeviction"],
      { stdio: "ignore" },
    );
    await waitFor(`redis-server on ${this.port}`, () => this.ping(), { timeoutMs: 10_000, intervalMs: 50 });
  }

  /** SIGKILL: no shutdown save, no goodbye; what survives is what the AOF had fsync'd. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
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
