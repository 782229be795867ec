// `npm run dlq -- list [--json] | retry [id...] | purge [id...]`: the failed-job set, by hand.
import { DEFAULT_QUEUE_PREFIX, RECEIPT_QUEUE_NAME, createRedis, waitForRedis } from "@receipt-sync/queue";
import { Queue } from "bullmq";
import { listFailed, purgeFailed, retryFailed } from "./dlq.js";

const USAGE = "usage: npm run dlq -- list [--json] | retry [jobId...] | purge [jobId...]";
const [command, ...rest] = process.argv.slice(2);
const json = rest.includes("--json");
const ids = rest.filter((arg) => !arg.startsWith("--"));
if (!command || !["list", "retry", "purge"].includes(command)) {
  console.error(USAGE);
  process.exit(2);
}

const redis = createRedis(process.env.REDIS_URL || "redis://127.0.0.1:6379", "worker");
const queue = new Queue(RECEIPT_QUEUE_NAME, { connection: redis, prefix: process.env.QUEUE_PREFIX || DEFAULT_QUEUE_PREFIX });
try {
  await waitForRedis(redis, 5000);
  if (command === "list") {
    const failed = await listFailed(queue);
    if (json) console.log(JSON.stringify(failed, null, 2));
    else if (failed.length === 0) console.log("no failed jobs");
    else console.table(failed);
  } else if (command === "retry") {
    console.log(`retried ${await retryFailed(queue, ids)} failed job(s)`);
  } else {
    console.log(`purged ${await purgeFailed(queue, ids)} failed job(s)`);
  }
} catch (error) {
  console.error(`dlq ${command} failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  await queue.close();
  redis.disconnect();
}
