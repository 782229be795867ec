import { Worker, type Job, type JobJson } from "bullmq";
import { storedStampHolds, type ReceiptJobData } from "./contract.js";

const stampHeldWhenStored = new WeakSet<Job>();

/**
 * A BullMQ Worker that checks each job's stamp on its data as Redis held it, before BullMQ
 * parsed it (storedStampHolds), and keeps only the answer (stampHeldOnStore). Everything else
 * is BullMQ's.
 */
export class ReceiptJobWorker extends Worker<ReceiptJobData> {
  protected override createJob(json: JobJson, jobId: string): Job<ReceiptJobData> {
    const job = super.createJob(json, jobId);
    if (typeof json.data === "string" && storedStampHolds(json.data)) stampHeldWhenStored.add(job);
    return job;
  }
}

/** Whether a ReceiptJobWorker found `job`'s stamp true to its rows as Redis held them; false for any other job. */
export function stampHeldOnStore(job: Job): boolean {
  return stampHeldWhenStored.has(job);
}
