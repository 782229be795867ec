import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { Redis } from "ioredis";
import { freePort } from "./processes.js";
import { scratchDir } from "./scratch-dir.js";
import { waitFor } from "./wait-for.js";

/**
 * A private Redis Cluster of `masters` redis-servers (no replicas, no persistence) on free
 * loopback ports, formed with `redis-cli --cluster create`. The shared Redis is never touched.
 */
export class TestRedisCluster {
  private constructor(
    readonly ports: number[],
    private readonly children: ChildProcess[],
  ) {}

  static async start(masters = 3): Promise<TestRedisCluster> {
    const dir = scratchDir("redis-cluster");
    const ports: number[] = [];
    while (ports.length < masters) {
      const port = await freePort();
      // A cluster node also listens on port + 10000 for the cluster bus.
      if (port + 10_000 <= 65_535 && !ports.includes(port)) ports.push(port);
    }
    const children = ports.map((port) =>
      spawn(
        "redis-server",
        [
          "--port",
          String(port),
          "--bind",
          "127.0.0.1",
          "--cluster-enabled",
          "yes",
          "--cluster-config-file",
          join(dir, `nodes-${port}.conf`),
          "--cluster-node-timeout",
          "2000",
          "--save",
          "",
          "--appendonly",
          "no",
          "--dir",
          dir,
          "--maxmemory-policy",
          "noeviction",
        ],
        { stdio: "ignore" },
      ),
    );
    const cluster = new TestRedisCluster(ports, children);
    try {
      for (const port of ports)
        await waitFor(`redis-server on ${port}`, () => ping(port), { timeoutMs: 10_000, intervalMs: 50 });
      const created = spawnSync(
        "redis-cli",
        ["--cluster", "create", ...ports.map((p) => `127.0.0.1:${p}`), "--cluster-replicas", "0", "--cluster-yes"],
        { encoding: "utf8" },
      );
      if (created.status !== 0)
        throw new Error(`redis-cli --cluster create failed: ${created.stderr}${created.stdout}`);
      for (const port of ports) {
        await waitFor(
          `cluster_state:ok on ${port}`,
          async () => (await clusterInfo(port)).includes("cluster_state:ok"),
          { timeoutMs: 20_000, intervalMs: 100 },
        );
      }
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** REDIS_URL for the apps: every master as a seed. */
  get url(): string {
    return `redis-cluster://${this.ports.map((p) => `127.0.0.1:${p}`).join(",")}`;
  }

  /** The master that serves `key`'s slot, by port. */
  async portOf(key: string): Promise<number> {
    const client = new Redis(this.ports[0]!, "127.0.0.1", { lazyConnect: true });
    try {
      await client.connect();
      const slot = (await client.call("CLUSTER", "KEYSLOT", key)) as number;
      const ranges = (await client.call("CLUSTER", "SLOTS")) as [number, number, [string, number]][];
      return ranges.find(([from, to]) => slot >= from && slot <= to)![2][1];
    } finally {
      client.disconnect();
    }
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGKILL");
        await exited;
      }),
    );
  }
}

async function withNode<T>(port: number, run: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis(port, "127.0.0.1", {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on("error", () => undefined); // a node not up yet is what the callers poll for
  try {
    await client.connect();
    return await run(client);
  } finally {
    client.disconnect();
  }
}

async function ping(port: number): Promise<boolean> {
  return withNode(port, async (c) => (await c.ping()) === "PONG").catch(() => false);
}

async function clusterInfo(port: number): Promise<string> {
  return withNode(port, async (c) => String(await c.call("CLUSTER", "INFO")));
}
