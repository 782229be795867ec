import { ErrorCodes, OK_REPLY, failReply, type TencentReply } from "@receipt-sync/protocol";
import { secondsSince, type Logger } from "@receipt-sync/runtime";
import type { Response } from "express";
import type { StoredIn } from "./durable-store.js";
import type { IngestMetrics } from "./ingest-metrics.js";

/**
 * What became of one request on the webhook port, from the handler, the body parser or the
 * router alike. Every reply is one of these, and `replyFor` is the only place one becomes a
 * status and an envelope.
 */
export type CallbackOutcome =
  | { kind: "accepted"; messages: number; storedIn: StoredIn }
  | { kind: "ignored"; reason: string }
  | { kind: "alert"; passedOn: boolean }
  | { kind: "invalid"; error: string }
  | { kind: "forbidden"; error: string }
  | { kind: "unauthenticated"; error: string }
  | { kind: "unavailable"; error: string }
  | { kind: "too_large"; limitBytes: number }
  | { kind: "not_found"; method: string; path: string }
  | { kind: "method_not_allowed"; method: string }
  /** A bug: the cause is logged, never sent. */
  | { kind: "internal"; cause: unknown };

type HttpReply = { status: number; body: TencentReply; headers?: Record<string, string> };

const OK_HTTP_REPLY: HttpReply = Object.freeze({ status: 200, body: OK_REPLY });

export function replyFor(outcome: CallbackOutcome): HttpReply {
  switch (outcome.kind) {
    case "accepted":
    case "ignored":
    case "alert":
      return OK_HTTP_REPLY;
    case "invalid":
      return { status: 400, body: failReply(ErrorCodes.invalid, outcome.error) };
    case "forbidden":
      return { status: 403, body: failReply(ErrorCodes.forbidden, outcome.error) };
    case "unauthenticated":
      return { status: 401, body: failReply(ErrorCodes.unauthenticated, outcome.error) };
    case "unavailable":
      return { status: 503, body: failReply(ErrorCodes.unavailable, outcome.error) };
    case "too_large":
      return {
        status: 413,
        body: failReply(ErrorCodes.tooLarge, `body exceeds the limit of ${outcome.limitBytes} bytes`),
      };
    case "not_found":
      return { status: 404, body: failReply(ErrorCodes.notFound, `no route for ${outcome.method} ${outcome.path}`) };
    case "method_not_allowed":
      return {
        status: 405,
        body: failReply(ErrorCodes.methodNotAllowed, `method ${outcome.method} not allowed; use POST`),
        headers: { Allow: "POST" },
      };
    case "internal":
      return { status: 500, body: failReply(ErrorCodes.internal, "internal error") };
    default: {
      const unhandled: never = outcome;
      throw new Error(`unhandled outcome ${JSON.stringify(unhandled)}`);
    }
  }
}

const OK_BODY = Buffer.from(JSON.stringify(OK_REPLY));
const OK_HEADERS = { "content-type": "application/json; charset=utf-8", "content-length": String(OK_BODY.length) };

/**
 * Sends the reply for an outcome. A request on the callback path (the handler set
 * `res.locals.startedAt`) is counted and timed, and a refused one logged at warn; a stray path
 * is neither, so scanners cannot fill the logs. A bug is logged at error wherever it happened.
 */
export function createReplier(metrics: IngestMetrics, log: Logger): (res: Response, outcome: CallbackOutcome) => void {
  return (res, outcome) => {
    const reply = replyFor(outcome);
    const startedAt = res.locals.startedAt as bigint | undefined;
    if (startedAt !== undefined)
      metrics.recordReply(res.locals.command as string | undefined, outcome.kind, secondsSince(startedAt));
    if (reply.status === 200) {
      // The hot path: a constant reply, serialised once, skipping res.json()'s work.
      res.writeHead(200, OK_HEADERS).end(OK_BODY);
      return;
    }
    if (outcome.kind === "internal") log.error({ err: outcome.cause }, "internal error");
    else if (startedAt !== undefined)
      log.warn({ outcome: outcome.kind, reason: reply.body.ErrorInfo }, "callback rejected");
    if (reply.headers) res.set(reply.headers);
    res.status(reply.status).json(reply.body);
  };
}
