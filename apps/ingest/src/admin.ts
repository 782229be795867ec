import { timingSafeEqual, createHash } from "node:crypto";
import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { ExpressAdapter } from "@bull-board/express";
import type { Queue } from "bullmq";
import express, { type RequestHandler } from "express";

export const ADMIN_PATH = "/admin/queues";

/** Bull Board for the receipts queue behind HTTP basic auth. */
export function createAdminRouter(queue: Queue, credentials: { user: string; password: string }): express.Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(ADMIN_PATH);
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
    res.set("WWW-Authenticate", 'Basic realm="receipt-sync admin", charset="UTF-8"').status(401).json({ error: "authentication required" });
  };
}
