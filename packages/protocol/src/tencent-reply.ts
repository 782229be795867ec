/** Tencent's reply envelope. Any non-200 status or non-JSON body counts as a failed callback. */
export type TencentReply = {
  ActionStatus: "OK" | "FAIL";
  ErrorCode: number;
  ErrorInfo: string;
};

export const OK_REPLY: TencentReply = Object.freeze({ ActionStatus: "OK", ErrorInfo: "", ErrorCode: 0 });

/** Non-zero codes we answer with; the HTTP status carries the same meaning. */
export const ErrorCodes = {
  invalid: 40000,
  unauthenticated: 40100,
  forbidden: 40300,
  notFound: 40400,
  methodNotAllowed: 40500,
  tooLarge: 41300,
  internal: 50000,
  unavailable: 50300,
} as const;

export function failReply(errorCode: number, errorInfo: string): TencentReply {
  return { ActionStatus: "FAIL", ErrorCode: errorCode, ErrorInfo: errorInfo };
}
