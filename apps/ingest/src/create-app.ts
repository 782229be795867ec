import { isUtf8 } from "node:buffer";
import type { Logger } from "@receipt-sync/runtime";
import express, { type ErrorRequestHandler } from "express";
import { checkCaller, handleCallback, type CallbackDeps } from "./handle-callback.js";
import type { Readiness } from "./durable-store.js";
import type { IngestMetrics } from "./ingest-metrics.js";
import { createReplier, type CallbackOutcome } from "./reply.js";

type AppDeps = {
  callbackPath: string;
  bodyLimitBytes: number;
  /** Proxy hops whose X-Forwarded-For entry is believed (Express's `trust proxy`); 0: none. */
  trustProxyHops: number;
  callback: CallbackDeps;
  /** Whether callbacks can be kept right now (/readyz answers the status only; the detail is the admin port's). */
  readiness: () => Readiness;
  metrics: IngestMetrics;
  log: Logger;
};

type BodyParserError = Error & { type?: string; status?: number; limit?: number };

/**
 * The webhook port: the callback path, /healthz and /readyz, nothing else (the admin surface
 * has its own listener). This layer only turns body-parser errors into outcomes; every reply,
 * a stray path's included, goes through `reply.ts`.
 */
export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  if (deps.trustProxyHops > 0) app.set("trust proxy", deps.trustProxyHops);
  const reply = createReplier(deps.metrics, deps.log);

  const parseJson = express.json({
    limit: deps.bodyLimitBytes,
    strict: true,
    // Tencent says `contenttype=json` in the query; the header is not to be relied on.
    type: () => true,
    // JSON.parse would quietly turn invalid UTF-8 into U+FFFD and store a different name.
    verify: (_req, _res, buf) => {
      if (!isUtf8(buf))
        throw Object.assign(new Error("body is not valid UTF-8"), { status: 400, type: "entity.verify.failed" });
    },
  });

  // One handler, not a middleware chain: each router layer costs measurable throughput here.
  // The caller is judged before the body is read, so a stranger's megabyte is never parsed.
  app.post(deps.callbackPath, (req, res, next) => {
    res.locals.startedAt = process.hrtime.bigint();
    const rawQuery = req.query as Record<string, unknown>; // a getter that parses the URL each time: read once
    res.locals.command = typeof rawQuery.CallbackCommand === "string" ? rawQuery.CallbackCommand : undefined;
    const checked = checkCaller(rawQuery, req, deps.callback);
    if (!checked.ok) return reply(res, checked.outcome);
    parseJson(req, res, (error?: unknown) => {
      if (error) return reply(res, parserOutcome(error as BodyParserError, deps.bodyLimitBytes));
      handleCallback(checked.query, req.body, deps.callback).then((outcome) => reply(res, outcome), next);
    });
  });
  app.all(deps.callbackPath, (req, res) => reply(res, { kind: "method_not_allowed", method: req.method }));

  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  // Degraded (Redis away, callbacks spooled to disk) still takes traffic: it keeps callbacks.
  app.get("/readyz", (_req, res) => {
    const { status } = deps.readiness();
    res.status(status === "unavailable" ? 503 : 200).json({ status });
  });

  app.use((req, res) => reply(res, { kind: "not_found", method: req.method, path: req.path }));
  const internal: ErrorRequestHandler = (error: unknown, _req, res, _next) =>
    reply(res, { kind: "internal", cause: error });
  app.use(internal);
  return app;
}

function parserOutcome(error: BodyParserError, bodyLimitBytes: number): CallbackOutcome {
  if (error.type === "entity.too.large") return { kind: "too_large", limitBytes: error.limit ?? bodyLimitBytes };
  if (error.type === "entity.parse.failed") return { kind: "invalid", error: jsonErrorInfo(error) };
  // A 4xx of the parser's own (invalid UTF-8, an unknown encoding, an aborted upload) is the
  // caller's; anything else is ours.
  const status = error.status ?? 500;
  return status >= 400 && status < 500 ? { kind: "invalid", error: error.message } : { kind: "internal", cause: error };
}

/**
 * V8's JSON.parse messages quote the body ("Unexpected token '}', "{"a": }" is not valid
 * JSON"), and bodies are never to reach a reply or a log: say where, never what.
 */
function jsonErrorInfo(error: Error): string {
  const position = /position (\d+)/.exec(error.message)?.[1];
  if (position !== undefined) return `body is not valid JSON (at character ${position})`;
  return /end of JSON input/.test(error.message)
    ? "body is not valid JSON (it ends too soon)"
    : "body is not valid JSON";
}
