import { Worker, type Job, type JobJson } from "bullmq";
import type { ReceiptJobData } from "./contract.js";

const storedData = new WeakMap<Job, string>();

/**
 * A BullMQ Worker that keeps each job's data as Redis held it, before BullMQ parsed it, for
 * trustedPackets to check the job's stamp on (storedDataOf). Everything else is BullMQ's.
 */
export class ReceiptJobWorker extends Worker<ReceiptJobData> {
  protected override createJob(json: JobJson, jobId: string): Job<ReceiptJobData> {
    const job = super.createJob(json, jobId);
    if (typeof json.data === "string") storedData.set(job, json.data);
    return job;
  }
}

/** The data of a job a ReceiptJobWorker took, as Redis held it; undefined for any other job. */
export function storedDataOf(job: Job): string | undefined {
  return storedData.get(job);
}
