import type { ReceiptPacket } from "@receipt-sync/protocol";
import type { Database } from "./create-database.js";
import { receiptColumnsOf } from "./receipt-sql.js";

type ApplyResult = { messages: number; readers: number; newEvents: number };

/**
 * Writes a batch of packets in one transaction with one set-based statement per table
 * (see receipt-sql.ts for why this is safe under retries, reordering and concurrency).
 * `messages` and `readers` count what the batch named, duplicates included.
 */
export async function applyReceipts(db: Database, packets: readonly ReceiptPacket[]): Promise<ApplyResult> {
  const columns = receiptColumnsOf(packets);
  const statements = columns.statements();
  if (statements.length === 0) return { messages: 0, readers: 0, newEvents: 0 };
  const [newEvents] = await db.$transaction(statements.map(({ sql, params }) => db.$executeRawUnsafe(sql, ...params)));
  return { messages: columns.messages, readers: columns.readers, newEvents: newEvents ?? 0 };
}
