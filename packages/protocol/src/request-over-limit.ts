import { z } from "zod";

/**
 * Tencent posts this to the app's usual callback URL when a REST API passes 80 % of its rate
 * limit, e.g. `{"CallbackCommand":"Alert.RequestOverLimit","ServiceName":"openim",
 * "Command":"batchsendmsg","Request":510,"Limit":200}`. It is answered with the usual OK.
 */
export const REQUEST_OVER_LIMIT_COMMAND = "Alert.RequestOverLimit";

/** Only what is worth logging; every field is optional because the alert is a signal either way. */
const requestOverLimitSchema = z.object({
  ServiceName: z.string().max(64).optional(),
  Command: z.string().max(64).optional(),
  Request: z.number().optional(),
  Limit: z.number().optional(),
});

export type RequestOverLimit = z.output<typeof requestOverLimitSchema>;

/** The alert's details, or an empty record when the body is not what the docs describe. */
export function parseRequestOverLimit(body: unknown): RequestOverLimit {
  const result = requestOverLimitSchema.safeParse(body);
  return result.success ? result.data : {};
}
