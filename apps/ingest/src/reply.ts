import { ErrorCodes, OK_REPLY, failReply, type TencentReply } from "@receipt-sync/protocol";
import type { CallbackOutcome } from "./handle-callback.js";

export type HttpReply = { status: number; body: TencentReply };

export function replyFor(outcome: CallbackOutcome): HttpReply {
  switch (outcome.kind) {
    case "accepted":
    case "ignored":
    case "alert":
      return { status: 200, body: OK_REPLY };
    case "invalid":
      return { status: 400, body: failReply(ErrorCodes.invalid, outcome.error) };
    case "forbidden":
      return { status: 403, body: failReply(ErrorCodes.forbidden, outcome.error) };
    case "unauthenticated":
      return { status: 401, body: failReply(ErrorCodes.unauthenticated, outcome.error) };
    case "unavailable":
      return { status: 503, body: failReply(ErrorCodes.unavailable, outcome.error) };
    default: {
      const unhandled: never = outcome;
      throw new Error(`unhandled outcome ${JSON.stringify(unhandled)}`);
    }
  }
}
