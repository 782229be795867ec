import { createConnection, createServer, type Server, type Socket } from "node:net";

/**
 * A loopback TCP proxy that a test can break: `down()` drops every connection and refuses new
 * ones (what a worker sees when Postgres goes away), `stall()` keeps them open but silent (a
 * hung server), `up()`/`resume()` let traffic through again.
 */
export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private readonly silenced = new Set<Socket>();
  private refusing = false;
  private stalled = false;
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number, targetHost = "127.0.0.1"): Promise<TcpProxy> {
    let proxy: TcpProxy | undefined;
    const server = createServer((client) => {
      if (!proxy || proxy.refusing) return client.destroy();
      const upstream = createConnection(targetPort, targetHost);
      for (const socket of [client, upstream]) {
        proxy.sockets.add(socket);
        socket.on("close", () => proxy?.sockets.delete(socket));
        socket.on("error", () => undefined); // a cut connection is the point
      }
      client.pipe(upstream).pipe(client);
      // After pipe(), which resumes a paused source: a connection opened while stalled stays silent.
      if (proxy.stalled) for (const socket of [client, upstream]) socket.pause();
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    if (typeof address !== "object" || !address) throw new Error("proxy has no port");
    proxy = new TcpProxy(server, address.port);
    return proxy;
  }

  /**
   * A proxy in front of the server a URL names (postgresql://…, redis://…), and that URL
   * rewritten to go through it.
   */
  static async inFrontOf(url: string, defaultPort: number): Promise<{ proxy: TcpProxy; url: string }> {
    const target = new URL(url);
    const proxy = await TcpProxy.start(Number(target.port || defaultPort), target.hostname);
    target.hostname = "127.0.0.1";
    target.port = String(proxy.port);
    return { proxy, url: target.toString() };
  }

  /** Keeps connections open but forwards nothing: a server that hangs instead of failing. */
  stall(): void {
    this.stalled = true;
    for (const socket of this.sockets) socket.pause();
  }

  /**
   * The connections open now go silent for good (no data, no FIN, no RST), as behind a NAT
   * entry that expired or a failover; new connections work normally.
   */
  silenceOpen(): void {
    for (const socket of this.sockets) {
      socket.pause();
      this.silenced.add(socket);
    }
    this.sockets.clear();
  }

  resume(): void {
    this.stalled = false;
    for (const socket of this.sockets) socket.resume();
  }

  down(): void {
    this.refusing = true;
    for (const socket of this.sockets) socket.destroy();
  }

  up(): void {
    this.refusing = false;
  }

  async close(): Promise<void> {
    this.down();
    for (const socket of this.silenced) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
