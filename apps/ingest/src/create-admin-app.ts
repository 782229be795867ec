import { timingSafeEqual, createHash } from "node:crypto";
import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { ExpressAdapter } from "@bull-board/express";
import type { Queue } from "bullmq";
import express, { type RequestHandler } from "express";
import type { Readiness } from "./durable-store.js";
import type { IngestMetrics } from "./ingest-metrics.js";

const BULL_BOARD_PATH = "/admin/queues";

type AdminAppDeps = {
  metrics: IngestMetrics;
  readiness: () => Readiness;
  /** Bull Board for this queue, behind basic auth; absent, the route does not exist. */
  bullBoard?: { queue: Queue; credentials: { user: string; password: string } };
};

/**
 * The admin port: /metrics, /readyz with the detail (queue, breaker, spool depth) and Bull
 * Board, which can delete jobs. It is a listener of its own so that none of this faces the
 * internet on the port Tencent posts to; compose publishes it on loopback only.
 */
export function createAdminApp(deps: AdminAppDeps): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.get("/metrics", async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  app.get("/readyz", (_req, res) => {
    const readiness = deps.readiness();
    res.status(readiness.status === "unavailable" ? 503 : 200).json(readiness);
  });
  if (deps.bullBoard) app.use(BULL_BOARD_PATH, bullBoardRouter(deps.bullBoard.queue, deps.bullBoard.credentials));
  app.use((req, res) => {
    res.status(404).json({ error: `no route for ${req.method} ${req.path}` });
  });
  return app;
}

function bullBoardRouter(queue: Queue, credentials: { user: string; password: string }): express.Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({ queues: [new BullMQAdapter(queue)], serverAdapter });
  const router = express.Router();
  router.use(basicAuth(credentials), serverAdapter.getRouter() as RequestHandler);
  return router;
}

function basicAuth({ user, password }: { user: string; password: string }): RequestHandler {
  // Compare digests: timingSafeEqual needs equal lengths, and comparing the raw strings'
  // lengths first would leak them.
  const digest = (s: string) => createHash("sha256").update(s).digest();
  const expected = digest(`${user}:${password}`);
  return (req, res, next) => {
    const header = req.headers.authorization ?? "";
    const given = header.startsWith("Basic ") ? Buffer.from(header.slice(6), "base64").toString("utf8") : "";
    if (given !== "" && timingSafeEqual(digest(given), expected)) return next();
    res
      .set("WWW-Authenticate", 'Basic realm="receipt-sync admin", charset="UTF-8"')
      .status(401)
      .json({ error: "authentication required" });
  };
}
