import { parseWith, type ParseResult } from "@receipt-sync/protocol";
import { z } from "zod";

/**
 * A second queue beside the receipts queue, under the same prefix (so the same hash tag on a
 * cluster), for periodic work that must run on one worker at a time: the pruning that
 * RETENTION_DAYS asks for. One job scheduler makes the jobs; the queue's global concurrency of 1
 * keeps a run that outlasts its interval from overlapping the next one on another worker.
 */
export const MAINTENANCE_QUEUE_NAME = "maintenance";
export const PRUNE_JOB_NAME = "prune-expired";
export const PRUNE_SCHEDULER_ID = "prune-expired";

const pruneJobSchema = z.object({ retentionDays: z.int().min(1) });
type PruneJobData = z.output<typeof pruneJobSchema>;

export function parsePruneJob(data: unknown): ParseResult<PruneJobData> {
  return parseWith(pruneJobSchema, data);
}
