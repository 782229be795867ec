import { z } from "zod";
import { parseWith, type ParseResult } from "./parse-with.js";
import { readReceiptCallbackSchema, sdkAppIdSchema } from "./read-receipt.js";
import { optionalStorableText } from "./storable-text.js";

/** ClientIP and OptPlatform are stored as free text; an IPv6 address fits easily. */
const MAX_QUERY_TEXT_CHARS = 64;

/**
 * One callback as it travels from ingest to worker: the body plus what only the URL and the
 * moment of arrival tell. This is the one definition of a valid callback. The ingest builds
 * the packet and acknowledges it only if it passes this schema; the worker parses each packet
 * of a job with the same schema. Parsing is idempotent over JSON (its output, serialised and
 * parsed again, passes unchanged), so what the ingest acknowledged is what the worker reads.
 */
const receiptPacketSchema = z.object({
  sdkAppId: sdkAppIdSchema,
  clientIp: optionalStorableText(MAX_QUERY_TEXT_CHARS),
  optPlatform: optionalStorableText(MAX_QUERY_TEXT_CHARS),
  receivedAtMs: z.int().min(0),
  receipt: readReceiptCallbackSchema,
});

export type ReceiptPacket = z.output<typeof receiptPacketSchema>;

/**
 * The version of receiptPacketSchema and of the wire form (wire-packet.ts) a job carries its
 * packets in. A job whose rows this schema produced carries it, and a worker with the same
 * version takes them as they are instead of parsing each again (the parse cost the worker more
 * CPU than anything else it did per packet). Bump it with any change to what the schema
 * accepts or outputs, or to the wire form; a test pins it to their source files.
 */
export const RECEIPT_PACKET_SCHEMA_VERSION = 2;

// Errors name the fields as the caller wrote them: query parameters, then the body's own.
const CALLER_NAMES = {
  sdkAppId: "query SdkAppid",
  clientIp: "query ClientIP",
  optPlatform: "query OptPlatform",
  receipt: "",
};

export function parseReceiptPacket(value: unknown): ParseResult<ReceiptPacket> {
  return parseWith(receiptPacketSchema, value, CALLER_NAMES);
}
