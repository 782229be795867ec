import { isUtf8 } from "node:buffer";
import { ErrorCodes, failReply } from "@receipt-sync/protocol";
import type { Logger } from "@receipt-sync/runtime";
import express, { type ErrorRequestHandler, type NextFunction, type Request, type Response } from "express";
import { checkCaller, handleCallback, type CallbackDeps, type CallbackOutcome } from "./handle-callback.js";
import { replyFor } from "./reply.js";

export type AppDeps = {
  callbackPath: string;
  bodyLimitBytes: number;
  callback: CallbackDeps;
  /** True when the queue can take jobs right now (used by /readyz). */
  isQueueReady: () => Promise<boolean>;
  log: Logger;
};

type BodyParserError = Error & { type?: string; status?: number };

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);

  const send = (res: Response, outcome: CallbackOutcome) => {
    const reply = replyFor(outcome);
    if (reply.status !== 200) deps.log.warn({ outcome: outcome.kind, reason: reply.body.ErrorInfo }, "callback rejected");
    res.status(reply.status).json(reply.body);
  };

  // Decide from the URL before reading the body: a stranger's megabyte is never parsed.
  const authorise = (req: Request, res: Response, next: NextFunction) => {
    const checked = checkCaller(req.query as Record<string, unknown>, deps.callback);
    if (!checked.ok) return send(res, checked.outcome);
    res.locals.query = checked.query;
    next();
  };

  const parseJson = express.json({
    limit: deps.bodyLimitBytes,
    strict: true,
    // Tencent says `contenttype=json` in the query; the header is not to be relied on.
    type: () => true,
    // JSON.parse would quietly turn invalid UTF-8 into U+FFFD and store a different name.
    verify: (_req, _res, buf) => {
      if (!isUtf8(buf)) throw Object.assign(new Error("body is not valid UTF-8"), { status: 400, type: "entity.verify.failed" });
    },
  });

  app.post(deps.callbackPath, authorise, parseJson, async (req, res) => {
    send(res, await handleCallback(res.locals.query, req.body, deps.callback));
  });
  app.all(deps.callbackPath, (req, res) => {
    res.set("Allow", "POST").status(405).json(failReply(ErrorCodes.methodNotAllowed, `method ${req.method} not allowed; use POST`));
  });

  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  app.get("/readyz", async (_req, res) => {
    const ready = await deps.isQueueReady();
    res.status(ready ? 200 : 503).json({ status: ready ? "ready" : "unavailable", queue: ready ? "ok" : "unreachable" });
  });

  app.use((req, res) => {
    res.status(404).json(failReply(ErrorCodes.notFound, `no route for ${req.method} ${req.path}`));
  });
  app.use(errorHandler(deps.log));
  return app;
}

function errorHandler(log: Logger): ErrorRequestHandler {
  return (error: BodyParserError, _req, res, _next) => {
    const status = error.status ?? 500;
    if (error.type === "entity.too.large") {
      res.status(413).json(failReply(ErrorCodes.tooLarge, `body exceeds the limit of ${(error as { limit?: number }).limit ?? "?"} bytes`));
    } else if (error.type === "entity.parse.failed") {
      res.status(400).json(failReply(ErrorCodes.invalid, `body is not valid JSON: ${error.message}`));
    } else if (status >= 400 && status < 500) {
      res.status(status).json(failReply(ErrorCodes.invalid, error.message));
    } else {
      log.error({ err: error }, "unhandled error");
      res.status(500).json(failReply(ErrorCodes.internal, "internal error"));
    }
    if (status < 500) log.warn({ outcome: "invalid", reason: error.message }, "callback rejected");
  };
}
