import { isUtf8 } from "node:buffer";
import { ErrorCodes, OK_REPLY, failReply } from "@receipt-sync/protocol";
import { secondsSince, type Logger } from "@receipt-sync/runtime";
import express, { type ErrorRequestHandler, type Response } from "express";
import { checkCaller, handleCallback, type CallbackDeps, type CallbackOutcome } from "./handle-callback.js";
import { ADMIN_PATH } from "./admin.js";
import type { Readiness } from "./durable-store.js";
import type { IngestMetrics } from "./metrics.js";
import { replyFor } from "./reply.js";


export type AppDeps = {
  callbackPath: string;
  bodyLimitBytes: number;
  callback: CallbackDeps;
  /** Whether callbacks can be kept right now, and where (used by /readyz). */
  readiness: () => Readiness;
  maxInFlightRequests: number;
  metrics: IngestMetrics;
  /** Bull Board, mounted at /admin/queues; absent, the route does not exist. */
  adminRouter?: express.Router;
  log: Logger;
};

const OK_BODY = Buffer.from(JSON.stringify(OK_REPLY));
const OK_HEADERS = { "content-type": "application/json; charset=utf-8", "content-length": String(OK_BODY.length) };

type BodyParserError = Error & { type?: string; status?: number };

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);

  const send = (res: Response, outcome: CallbackOutcome) => {
    const reply = replyFor(outcome);
    recordReply(deps.metrics, res, outcome.kind);
    if (reply.status === 200) {
      // The hot path: a constant reply, serialised once, skipping res.json()'s work.
      res.writeHead(200, OK_HEADERS).end(OK_BODY);
      return;
    }
    deps.log.warn({ outcome: outcome.kind, reason: reply.body.ErrorInfo }, "callback rejected");
    res.status(reply.status).json(reply.body);
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

  // Bounded memory: callbacks waiting for Redis or the spool are what piles up when either is
  // slow, so they are counted; past the cap new ones are refused at once.
  let storing = 0;
  const callback: CallbackDeps = {
    ...deps.callback,
    store: async (packet) => {
      storing += 1;
      const startedAt = process.hrtime.bigint();
      try {
        const storedIn = await deps.callback.store(packet);
        deps.metrics.recordStore(storedIn, secondsSince(startedAt));
        return storedIn;
      } finally {
        storing -= 1;
      }
    },
  };
  // One handler, not a middleware chain: each router layer costs measurable throughput here.
  // The URL is judged before the body is read, so a stranger's megabyte is never parsed.
  app.post(deps.callbackPath, (req, res, next) => {
    res.locals.startedAt = process.hrtime.bigint();
    res.locals.command = typeof req.query.CallbackCommand === "string" ? req.query.CallbackCommand : undefined;
    if (storing >= deps.maxInFlightRequests) {
      return send(res, { kind: "unavailable", error: `overloaded: ${storing} callbacks in flight` });
    }
    const checked = checkCaller(req.query as Record<string, unknown>, deps.callback);
    if (!checked.ok) return send(res, checked.outcome);
    parseJson(req, res, (error?: unknown) => {
      if (error) return next(error);
      handleCallback(checked.query, req.body, callback).then((outcome) => send(res, outcome), next);
    });
  });
  app.all(deps.callbackPath, (req, res) => {
    res.set("Allow", "POST").status(405).json(failReply(ErrorCodes.methodNotAllowed, `method ${req.method} not allowed; use POST`));
  });

  if (deps.adminRouter) app.use(ADMIN_PATH, deps.adminRouter);
  app.get("/metrics", async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  // Degraded (Redis away, callbacks spooled to disk) still takes traffic: it keeps callbacks.
  app.get("/readyz", (_req, res) => {
    const readiness = deps.readiness();
    res.status(readiness.status === "unavailable" ? 503 : 200).json(readiness);
  });

  app.use((req, res) => {
    res.status(404).json(failReply(ErrorCodes.notFound, `no route for ${req.method} ${req.path}`));
  });
  app.use(errorHandler(deps.log, deps.metrics));
  return app;
}

function errorHandler(log: Logger, metrics: IngestMetrics): ErrorRequestHandler {
  return (error: BodyParserError, _req, res, _next) => {
    const status = error.status ?? 500;
    const outcome = error.type === "entity.too.large" ? "too_large" : status < 500 ? "invalid" : "error";
    recordReply(metrics, res, outcome);
    if (error.type === "entity.too.large") {
      res.status(413).json(failReply(ErrorCodes.tooLarge, `body exceeds the limit of ${(error as { limit?: number }).limit ?? "?"} bytes`));
    } else if (error.type === "entity.parse.failed") {
      res.status(400).json(failReply(ErrorCodes.invalid, jsonErrorInfo(error)));
    } else if (status >= 400 && status < 500) {
      res.status(status).json(failReply(ErrorCodes.invalid, error.message));
    } else {
      log.error({ err: error }, "unhandled error");
      res.status(500).json(failReply(ErrorCodes.internal, "internal error"));
    }
    if (status < 500) log.warn({ outcome, reason: error.type === "entity.parse.failed" ? jsonErrorInfo(error) : error.message }, "callback rejected");
  };
}

/** Counts and times a reply on the callback path (other routes set no start time). */
function recordReply(metrics: IngestMetrics, res: Response, outcome: string): void {
  const startedAt = res.locals.startedAt as bigint | undefined;
  if (startedAt !== undefined) metrics.recordReply(res.locals.command as string | undefined, outcome, secondsSince(startedAt));
}

/**
 * V8's JSON.parse messages quote the body ("Unexpected token '}', "{"a": }" is not valid
 * JSON"), and bodies are never to reach a reply or a log: say where, never what.
 */
function jsonErrorInfo(error: Error): string {
  const position = /position (\d+)/.exec(error.message)?.[1];
  if (position !== undefined) return `body is not valid JSON (at character ${position})`;
  return /end of JSON input/.test(error.message) ? "body is not valid JSON (it ends too soon)" : "body is not valid JSON";
}
