import type { ReceiptPacket } from "@receipt-sync/protocol";
import type { Database } from "./create-client.js";
import { reduceReceipts } from "./reduce-receipts.js";
import { receiptStatements } from "./receipt-sql.js";

export type ApplyResult = { messages: number; readers: number; newEvents: number };

/**
 * Writes a batch of packets in one transaction with one set-based statement per table
 * (see receipt-sql.ts for why this is safe under retries, reordering and concurrency).
 */
export async function applyReceipts(db: Database, packets: readonly ReceiptPacket[]): Promise<ApplyResult> {
  const rows = reduceReceipts(packets);
  if (rows.receipts.length === 0) return { messages: 0, readers: 0, newEvents: 0 };
  const [newEvents] = await db.$transaction(receiptStatements(rows).map(({ sql, params }) => db.$executeRawUnsafe(sql, ...params)));
  return { messages: rows.receipts.length, readers: rows.readers.length, newEvents: newEvents ?? 0 };
}
