import { toWire, type ReceiptPacket, type WirePacket } from "@receipt-sync/protocol";
import { executeStatement, type Database } from "./create-database.js";
import { receiptColumnsOf } from "./receipt-sql.js";

type ApplyResult = { messages: number; readers: number };

/**
 * Writes a batch of packets with one set-based statement, which is its own transaction
 * (see receipt-sql.ts for why this is safe under retries, reordering and concurrency).
 * `messages` and `readers` count what the batch named, duplicates included.
 */
export async function applyReceipts(db: Database, packets: readonly ReceiptPacket[]): Promise<ApplyResult> {
  return applyWirePackets(db, packets.map(toWire));
}

/** applyReceipts for packets in the form jobs carry them (the worker's path). */
export async function applyWirePackets(db: Database, packets: readonly WirePacket[]): Promise<ApplyResult> {
  const columns = receiptColumnsOf(packets);
  const statement = columns.statement();
  if (statement) await executeStatement(db, statement.sql, statement.params);
  return { messages: columns.messages, readers: columns.readers };
}
