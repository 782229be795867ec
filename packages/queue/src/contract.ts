import { createHash } from "node:crypto";
import {
  parseWith,
  RECEIPT_PACKET_SCHEMA_VERSION,
  toWire,
  type ParseResult,
  type ReceiptPacket,
  type WirePacket,
} from "@receipt-sync/protocol";
import { withTimeout } from "@receipt-sync/runtime";
import { Queue, type ConnectionOptions, type JobsOptions, type QueueOptions } from "bullmq";
import { z } from "zod";

/** The one queue between ingest and worker. Keys live under `${prefix}:${RECEIPT_QUEUE_NAME}:`. */
export const RECEIPT_QUEUE_NAME = "read-receipts";
export const RECEIPT_JOB_NAME = "apply-receipts";

/**
 * A job carries every callback that arrived while the previous enqueue was in flight. The
 * ingest writes the packets it built with the packet schema as `rows`, in their wire form
 * (toWire), with a stamp (`packetSchema`): the schema's version and a digest of the rows as
 * JSON. A worker whose schema has that version, and whose digest of the rows it received
 * matches, takes them as they are. Any other callback (the `packets` of spool lines and of
 * older producers, rows with another stamp or none, a job edited or made by hand) is checked
 * on its own by the worker, so one that fails cannot take its neighbours down with it. The
 * stamp is any value: one this worker cannot read only means a parse.
 */
const rowsJobSchema = z.object({ rows: z.array(z.unknown()).min(1), packetSchema: z.unknown().optional() });
const packetsJobSchema = z.object({ packets: z.array(z.unknown()).min(1) });
export type ReceiptJobData = z.output<typeof rowsJobSchema> | z.output<typeof packetsJobSchema>;

/** The job's envelope; a job with `rows` is read as rows, any other as packets, so the error names what is wrong. */
export function parseReceiptJob(data: unknown): ParseResult<ReceiptJobData> {
  const hasRows = typeof data === "object" && data !== null && "rows" in data;
  return hasRows ? parseWith(rowsJobSchema, data) : parseWith(packetsJobSchema, data);
}

/**
 * The stamp of rows this schema version produced. The digest binds it to these rows, so a job
 * whose data was changed after the ingest built it (an edit in the queue dashboard, a script
 * that copies a stamp) is parsed again. It is no signature: whoever can write to Redis can
 * forge it, as they can delete jobs.
 */
export function stampOf(rows: readonly unknown[]): string {
  return stampOfJson(JSON.stringify(rows));
}

/** stampOf the rows that `rowsJson` is the JSON text of, digesting that text as it is. */
export function stampOfJson(rowsJson: string): string {
  return `${RECEIPT_PACKET_SCHEMA_VERSION}:${createHash("sha1").update(rowsJson).digest("base64url")}`;
}

/** A job of packets that passed receiptPacketSchema in this process. */
export function checkedJob(packets: readonly ReceiptPacket[]): ReceiptJobData {
  const rows = packets.map(toWire);
  return { rows, packetSchema: stampOf(rows) };
}

/** A job of values nobody has checked here (spool lines): the worker parses each. */
export function uncheckedJob(values: readonly unknown[]): ReceiptJobData {
  return { packets: values as unknown[] };
}

/**
 * The job's rows, when this version's packet schema produced exactly them; undefined when they
 * need a parse. `stampHeldWhenStored` is what storedStampHolds said of this job's data as Redis
 * held it (ReceiptJobWorker asks it for every job it reads): when it held, the rows need not be
 * serialised again for their digest.
 */
export function trustedPackets(job: ReceiptJobData, stampHeldWhenStored = false): readonly WirePacket[] | undefined {
  if (!("rows" in job)) return undefined;
  const stamp = job.packetSchema;
  if (typeof stamp !== "string" || !stamp.startsWith(`${RECEIPT_PACKET_SCHEMA_VERSION}:`)) return undefined;
  return stampHeldWhenStored || stampOf(job.rows) === stamp ? (job.rows as WirePacket[]) : undefined;
}

/**
 * Whether `stored`, a job's data as Redis holds it, is checkedJob's value as BullMQ writes it
 * (`{"rows":…,"packetSchema":"…"}`) with the stamp of exactly the rows' text in it. The rows
 * parsed from it are then the rows the stamp was made for, since that text is all of `rows`
 * there is. Serialising the parsed rows again to digest them took 6–7 % of the worker's busy
 * time.
 */
export function storedStampHolds(stored: string): boolean {
  const stampAt = stored.lastIndexOf(STAMP_KEY) + STAMP_KEY.length;
  if (!stored.startsWith(ROWS_KEY) || stampAt < ROWS_KEY.length + STAMP_KEY.length || !stored.endsWith('"}'))
    return false;
  // A stamp has no character JSON escapes, so the stamp's text is the parsed stamp.
  return stampOfJson(stored.slice(ROWS_KEY.length, stampAt - STAMP_KEY.length)) === stored.slice(stampAt, -2);
}

const ROWS_KEY = '{"rows":';
const STAMP_KEY = ',"packetSchema":"';

/**
 * What a packet weighs in a job or a transaction: one unit per ten rows it writes (a message's
 * counts and ledger entry, each reader), at least one. Jobs and batches are capped in weight,
 * not in packets, so a few very large callbacks cannot make a job or a transaction that
 * exhausts the worker's memory or its transaction deadline.
 */
export function receiptPacketWeight(packet: ReceiptPacket): number {
  let rows = 0;
  for (const message of packet.receipt.GroupMsgReceiptList) rows += 1 + (message.ReadReceiptMembers?.length ?? 0);
  return weightOfRows(rows);
}

/** receiptPacketWeight of a packet in its wire form. */
export function wirePacketWeight(packet: WirePacket): number {
  let rows = 0;
  for (const message of packet[7]) rows += 1 + (message[3]?.length ?? 0);
  return weightOfRows(rows);
}

const weightOfRows = (rows: number) => Math.max(1, Math.ceil(rows / 10));

/** Longest wait between two tries of a job. */
export const MAX_RETRY_DELAY_MS = 5 * 60_000;

/**
 * The wait before try `attemptsMade + 1`: 1 s doubling per try, capped at 5 minutes, so a
 * short blip costs seconds and a long outage is probed every 5 minutes.
 */
export function receiptRetryDelayMs(attemptsMade: number): number {
  return Math.min(1000 * 2 ** Math.max(0, attemptsMade - 1), MAX_RETRY_DELAY_MS);
}

/** Tries of a job before it goes to the failed set: with receiptRetryDelayMs, 24 h 18 min. */
export const MAX_TRIES = 300;

/**
 * The worker retries a job whose write failed for a transient reason itself (see the worker's
 * create-job-processor.ts), on receiptRetryDelayMs, whatever these options say: 300 tries outlast a
 * Postgres outage of 24 h 18 min (a test computes the figure) before a job lands in the failed
 * set, where `npm run dlq` can re-drive it. The options below only matter for an unexpected
 * error, and use BullMQ's built-in backoff so that any worker version can run these jobs.
 * Completed jobs are dropped at once: the database, not Redis, is the record of what was applied.
 */
export const RECEIPT_JOB_OPTIONS: JobsOptions = {
  attempts: MAX_TRIES,
  backoff: { type: "exponential", delay: 1000 },
  removeOnComplete: true,
  removeOnFail: false,
};

/**
 * Adds one job; rejects if Redis has not stored it within `timeoutMs`. The add is not
 * cancelled and may still land later: harmless, the worker's writes are idempotent.
 */
export async function addReceiptJob(
  queue: Queue<ReceiptJobData>,
  data: ReceiptJobData,
  timeoutMs: number,
): Promise<void> {
  await withTimeout(
    queue.add(RECEIPT_JOB_NAME, data, RECEIPT_JOB_OPTIONS),
    timeoutMs,
    `Redis did not accept the job within ${timeoutMs} ms`,
  );
}

/** The receipts queue under `prefix` on `connection`: the one place it is opened. */
export function openReceiptQueue(
  connection: ConnectionOptions,
  prefix: string,
  options: Omit<QueueOptions, "connection" | "prefix"> = {},
): Queue<ReceiptJobData> {
  return new Queue<ReceiptJobData>(RECEIPT_QUEUE_NAME, { ...options, connection, prefix });
}
