import { z } from "zod";
import { describeIssues, readReceiptCallbackSchema, safeText, type ParseResult } from "./read-receipt.js";

/**
 * One accepted callback as it travels from ingest to worker: the validated body plus what
 * only the URL and the moment of arrival tell. The worker re-validates it with this schema,
 * so a job written by an older or foreign producer cannot reach the database unchecked.
 */
/** ClientIP and OptPlatform are stored as free text; an IPv6 address fits easily. */
export const MAX_QUERY_TEXT_CHARS = 64;

export const receiptPacketSchema = z.object({
  sdkAppId: z.string().regex(/^[0-9]{1,18}$/, "must be a number"),
  clientIp: safeText(MAX_QUERY_TEXT_CHARS).nullable(),
  optPlatform: safeText(MAX_QUERY_TEXT_CHARS).nullable(),
  receivedAtMs: z.int().min(0),
  receipt: readReceiptCallbackSchema,
});

export type ReceiptPacket = z.output<typeof receiptPacketSchema>;

export function parseReceiptPacket(value: unknown): ParseResult<ReceiptPacket> {
  const result = receiptPacketSchema.safeParse(value);
  return result.success ? { ok: true, value: result.data } : { ok: false, error: describeIssues(result.error) };
}
