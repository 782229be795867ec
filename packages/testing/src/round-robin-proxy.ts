import { createConnection, createServer, type Server, type Socket } from "node:net";

/**
 * Several upstreams behind one loopback port, as a load balancer puts several ingests behind
 * one callback URL: each new connection goes to the next upstream in turn. No health checks:
 * a connection sent to an upstream that is gone is reset, and its request counts as not
 * answered, which is what a client behind a real balancer sees in the moment before the
 * balancer notices.
 */
export class RoundRobinProxy {
  private readonly sockets = new Set<Socket>();
  private next = 0;
  /** Connections handed to each upstream so far, in `targetPorts` order. */
  readonly connections: number[];

  private constructor(
    private readonly server: Server,
    readonly port: number,
    targetPorts: readonly number[],
  ) {
    this.connections = targetPorts.map(() => 0);
  }

  static async start(targetPorts: readonly number[]): Promise<RoundRobinProxy> {
    if (targetPorts.length === 0) throw new Error("a round-robin proxy needs an upstream");
    let proxy: RoundRobinProxy | undefined;
    const server = createServer((client) => {
      if (!proxy) return client.destroy();
      const turn = proxy.next++ % targetPorts.length;
      proxy.connections[turn]! += 1;
      const upstream = createConnection(targetPorts[turn]!, "127.0.0.1");
      for (const socket of [client, upstream]) {
        proxy.sockets.add(socket);
        socket.on("close", () => proxy?.sockets.delete(socket));
        socket.on("error", () => undefined); // an upstream that died resets its clients
      }
      client.pipe(upstream).pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    if (typeof address !== "object" || !address) throw new Error("proxy has no port");
    proxy = new RoundRobinProxy(server, address.port, targetPorts);
    return proxy;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
