import { createServer, type Server } from "node:http";

/** What a prom-client Registry offers, without depending on prom-client here. */
type MetricsSource = { contentType: string; metrics: () => Promise<string> };

/** Serves GET /metrics (and nothing else) on `port`; resolves once listening. */
export async function serveMetrics(source: MetricsSource, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method === "GET" && req.url === "/metrics") {
      source.metrics().then(
        (body) => res.writeHead(200, { "content-type": source.contentType }).end(body),
        (error: unknown) => res.writeHead(500).end(String(error)),
      );
    } else {
      res.writeHead(404, { "content-type": "application/json" }).end('{"error":"only GET /metrics is served here"}');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, resolve);
  });
  return server;
}
