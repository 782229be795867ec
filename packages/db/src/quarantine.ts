import { createHash } from "node:crypto";
import { fromWire, isStorableText, parseReceiptPacket, toWire, type WirePacket } from "@receipt-sync/protocol";
import type { Database } from "./create-database.js";
import { arrayLiteral, receiptColumnsOf } from "./receipt-sql.js";

/**
 * Callbacks that cannot be written are kept here as received, never dropped. A quarantine
 * write must itself never fail on its data, or the callback would be stuck for ever, so
 * every column is made storable first: the payload as JSON.stringify writes it (which escapes
 * NUL and lone surrogates), the jsonb copy only when Postgres can hold it, the error text
 * made well-formed.
 */
type QuarantineReason = "invalid_payload" | "rejected_by_database";

export type QuarantineEntry = { raw: unknown; reason: QuarantineReason; error: string; sqlState: string | null };

type QuarantinedCallback = {
  id: string;
  reason: string;
  error: string;
  sqlState: string | null;
  firstSeenAt: string;
  lastSeenAt: string;
  attempts: number;
  payloadText: string;
};

// The same callback seen again (a job retried after a transient error) bumps its row.
const UPSERT_QUARANTINE = `
  INSERT INTO quarantined_callbacks (fingerprint, payload, payload_text, reason, error, sql_state, attempts)
  SELECT t.fingerprint, t.payload, t.payload_text, t.reason, t.error, t.sql_state, t.attempts
  FROM unnest($1::text[], $2::jsonb[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[])
       AS t(fingerprint, payload, payload_text, reason, error, sql_state, attempts)
  ORDER BY t.fingerprint
  ON CONFLICT (fingerprint) DO UPDATE SET
    reason = EXCLUDED.reason,
    error = EXCLUDED.error,
    sql_state = EXCLUDED.sql_state,
    last_seen_at = now(),
    attempts = quarantined_callbacks.attempts + EXCLUDED.attempts`;

export async function quarantineCallbacks(db: Database, entries: readonly QuarantineEntry[]): Promise<void> {
  const statement = quarantineStatement(entries);
  if (statement) await db.$executeRawUnsafe(statement.sql, ...statement.params);
}

function quarantineStatement(entries: readonly QuarantineEntry[]): { sql: string; params: string[] } | undefined {
  if (entries.length === 0) return undefined;
  // One row per fingerprint: a statement may not update the same row twice.
  const rows = new Map<
    string,
    { payload: string | null; payloadText: string; entry: QuarantineEntry; attempts: number }
  >();
  for (const entry of entries) {
    const payloadText = JSON.stringify(entry.raw) ?? "null";
    const fingerprint = createHash("sha256").update(payloadText).digest("hex");
    const seen = rows.get(fingerprint);
    if (seen) seen.attempts += 1;
    else rows.set(fingerprint, { payload: fitsJsonb(entry.raw) ? payloadText : null, payloadText, entry, attempts: 1 });
  }
  const list = [...rows];
  return {
    sql: UPSERT_QUARANTINE,
    params: [
      arrayLiteral(list.map(([fingerprint]) => fingerprint)),
      arrayLiteral(list.map(([, r]) => r.payload)),
      arrayLiteral(list.map(([, r]) => r.payloadText)),
      arrayLiteral(list.map(([, r]) => r.entry.reason)),
      arrayLiteral(list.map(([, r]) => storable(r.entry.error))),
      arrayLiteral(list.map(([, r]) => r.entry.sqlState)),
      arrayLiteral(list.map(([, r]) => r.attempts)),
    ],
  };
}

/** Quarantined callbacks, oldest first: all of them (up to `limit`, after `afterId`), or those named. */
export async function listQuarantined(
  db: Database,
  ids: readonly string[] = [],
  limit = 1000,
  afterId = "0",
): Promise<QuarantinedCallback[]> {
  const rows = await db.quarantinedCallback.findMany({
    where: { id: ids.length > 0 ? { in: ids.map(BigInt), gt: BigInt(afterId) } : { gt: BigInt(afterId) } },
    orderBy: { id: "asc" },
    take: limit,
  });
  return rows.map((r) => ({
    id: r.id.toString(),
    reason: r.reason,
    error: r.error,
    sqlState: r.sqlState,
    firstSeenAt: r.firstSeenAt.toISOString(),
    lastSeenAt: r.lastSeenAt.toISOString(),
    attempts: r.attempts,
    payloadText: r.payloadText,
  }));
}

/** Deletes quarantined callbacks (all, or those named); they are gone for good. */
export async function purgeQuarantined(db: Database, ids: readonly string[] = []): Promise<number> {
  const result = await db.quarantinedCallback.deleteMany({
    where: ids.length > 0 ? { id: { in: ids.map(BigInt) } } : {},
  });
  return result.count;
}

/**
 * `split`: a whole job whose valid callbacks were applied, and whose invalid ones were kept in
 * quarantine, each on its own (in the same transaction as the job's release).
 */
type RetryOutcome = { id: string; result: "applied" | "split" | "still_invalid" | "still_rejected"; error?: string };

/**
 * Re-applies quarantined callbacks with the current code (e.g. after an upgrade that fixed
 * the cause). Each one is written and released in one transaction, so a callback is either
 * in the tables or still in quarantine, never both or neither.
 */
export async function retryQuarantined(db: Database, ids: readonly string[] = []): Promise<RetryOutcome[]> {
  const outcomes: RetryOutcome[] = [];
  // Page by id, so every row is tried once however many there are.
  for (let afterId = "0"; ;) {
    const page = await listQuarantined(db, ids, 500, afterId);
    if (page.length === 0) return outcomes;
    afterId = page.at(-1)!.id;
    for (const row of page) outcomes.push(await retryOne(db, row));
  }
}

async function retryOne(db: Database, row: QuarantinedCallback): Promise<RetryOutcome> {
  const values = callbacksIn(JSON.parse(row.payloadText));
  const packets: WirePacket[] = [];
  const invalid: QuarantineEntry[] = [];
  for (const [i, value] of values.entries()) {
    const parsed = parseReceiptPacket(value);
    if (parsed.ok) packets.push(toWire(parsed.value));
    else {
      const error = values.length === 1 ? parsed.error : `callback ${i + 1} of ${values.length}: ${parsed.error}`;
      invalid.push({ raw: value, reason: "invalid_payload", error, sqlState: null });
    }
  }
  if (packets.length === 0) {
    await bumpAttempt(db, row.id, invalid[0]!.error, null);
    return { id: row.id, result: "still_invalid", error: invalid[0]!.error };
  }
  const statement = receiptColumnsOf(packets).statement();
  const kept = quarantineStatement(invalid);
  try {
    await db.$transaction([
      ...[statement, kept].flatMap((s) => (s ? [db.$executeRawUnsafe(s.sql, ...s.params)] : [])),
      db.$executeRawUnsafe("DELETE FROM quarantined_callbacks WHERE id = $1::bigint", row.id),
    ]);
    if (invalid.length === 0) return { id: row.id, result: "applied" };
    const error = `applied ${packets.length} of ${values.length} callbacks; kept ${invalid.length} in quarantine on their own: ${invalid[0]!.error}`;
    return { id: row.id, result: "split", error };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    await bumpAttempt(db, row.id, message, sqlStateOf(error));
    return { id: row.id, result: "still_rejected", error: message };
  }
}

/**
 * The callbacks a quarantined payload holds: one packet, or a whole job that a worker could
 * not read, such as a job in this version's form (its `rows`) that an older worker met during
 * a rolling upgrade, or an older job's `packets`.
 */
function callbacksIn(payload: unknown): unknown[] {
  if (typeof payload === "object" && payload !== null && !Array.isArray(payload)) {
    const { rows, packets } = payload as { rows?: unknown; packets?: unknown };
    if (Array.isArray(rows) && rows.length > 0) return rows.map(fromWire);
    if (Array.isArray(packets) && packets.length > 0) return packets;
  }
  return [fromWire(payload)];
}

async function bumpAttempt(db: Database, id: string, error: string, sqlState: string | null): Promise<void> {
  await db.quarantinedCallback.update({
    where: { id: BigInt(id) },
    data: { attempts: { increment: 1 }, lastSeenAt: new Date(), error: storable(error), sqlState },
  });
}

/**
 * The SQLSTATE of a failed statement, wherever the layers put it: Prisma Client's error
 * (`meta.driverAdapterError.cause.originalCode`), the driver adapter's own (`cause.originalCode`,
 * see `executeStatement`), or a plain node-postgres error (which carries `severity`). Null when
 * the failure was not Postgres answering: a lost connection, a timeout, or Prisma's own error,
 * whose `code` (P2028 and the like) is no SQLSTATE.
 */
export function sqlStateOf(error: unknown): string | null {
  type Cause = { originalCode?: unknown; code?: unknown };
  const {
    meta,
    cause: adapterCause,
    severity,
    code,
  } = (error ?? {}) as {
    meta?: { driverAdapterError?: { cause?: Cause } };
    cause?: Cause;
    severity?: unknown;
    code?: unknown;
  };
  const cause = meta?.driverAdapterError?.cause;
  const fromPg = severity !== undefined ? code : undefined;
  for (const candidate of [cause?.originalCode, cause?.code, adapterCause?.originalCode, fromPg]) {
    if (typeof candidate === "string" && /^[0-9A-Z]{5}$/.test(candidate)) return candidate;
  }
  return null;
}

function storable(text: string): string {
  return text.toWellFormed().replaceAll("\u0000", "\\u0000");
}

/** Whether Postgres' jsonb takes the value: no NUL or lone surrogate in any string, and not too deep. */
function fitsJsonb(value: unknown, depth = 0): boolean {
  if (depth > 100) return false;
  if (typeof value === "string") return isStorableText(value);
  if (Array.isArray(value)) return value.every((v) => fitsJsonb(v, depth + 1));
  if (typeof value === "object" && value !== null) {
    return Object.entries(value).every(([k, v]) => isStorableText(k) && fitsJsonb(v, depth + 1));
  }
  return true;
}
