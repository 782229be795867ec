import { describe, expect, it } from "vitest";
import { replyFor, type CallbackOutcome } from "./reply.js";

type Kind = CallbackOutcome["kind"];

/** One outcome of every kind; `satisfies` makes a new kind without a row a type error. */
const examples = {
  accepted: { kind: "accepted", messages: 2, storedIn: "queue" },
  ignored: { kind: "ignored", reason: "command C2C.CallbackAfterSendMsg is not handled" },
  alert: { kind: "alert", passedOn: true },
  invalid: { kind: "invalid", error: "GroupId: required" },
  forbidden: { kind: "forbidden", error: "SdkAppid 1 is not served here" },
  unauthenticated: { kind: "unauthenticated", error: "Sign mismatch" },
  unavailable: { kind: "unavailable", error: "overloaded" },
  too_large: { kind: "too_large", limitBytes: 4096 },
  not_found: { kind: "not_found", method: "GET", path: "/metrics" },
  method_not_allowed: { kind: "method_not_allowed", method: "PUT" },
  internal: { kind: "internal", cause: new Error("a secret detail") },
} satisfies { [K in Kind]: Extract<CallbackOutcome, { kind: K }> };

const expected: Record<Kind, [status: number, errorCode: number, errorInfo: string]> = {
  accepted: [200, 0, ""],
  ignored: [200, 0, ""],
  alert: [200, 0, ""],
  invalid: [400, 40000, "GroupId: required"],
  forbidden: [403, 40300, "SdkAppid 1 is not served here"],
  unauthenticated: [401, 40100, "Sign mismatch"],
  unavailable: [503, 50300, "overloaded"],
  too_large: [413, 41300, "body exceeds the limit of 4096 bytes"],
  not_found: [404, 40400, "no route for GET /metrics"],
  method_not_allowed: [405, 40500, "method PUT not allowed; use POST"],
  internal: [500, 50000, "internal error"],
};

describe("replyFor", () => {
  it.each(Object.keys(examples) as Kind[])("maps %s to its status and Tencent envelope", (kind) => {
    const [status, errorCode, errorInfo] = expected[kind];
    const reply = replyFor(examples[kind]);
    expect({ status: reply.status, body: reply.body }).toEqual({
      status,
      body: { ActionStatus: status === 200 ? "OK" : "FAIL", ErrorCode: errorCode, ErrorInfo: errorInfo },
    });
  });

  it("tells a wrong method which one to use", () => {
    expect(replyFor(examples.method_not_allowed).headers).toEqual({ Allow: "POST" });
  });

  it("never sends an internal error's text", () => {
    expect(JSON.stringify(replyFor(examples.internal))).not.toContain("secret");
  });
});
