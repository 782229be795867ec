// `npm run dlq -- list [--json] | retry [id...] | purge [id...]`: the failed-job set, by hand.
import {
  openReceiptQueue,
  createRedis,
  envQueuePrefix,
  envRedisUrl,
  resolveQueuePrefix,
  waitForRedis,
} from "@receipt-sync/queue";
import { loadConfigOrExit, parseEnv } from "@receipt-sync/runtime";
import { z } from "zod";
import { listFailed, purgeFailed, retryFailed } from "./dlq.js";

const USAGE = "usage: npm run dlq -- list [--json] | retry [jobId...] | purge [jobId...]";
const [command, ...rest] = process.argv.slice(2);
const json = rest.includes("--json");
const ids = rest.filter((arg) => !arg.startsWith("--"));
if (!command || !["list", "retry", "purge"].includes(command)) {
  console.error(USAGE);
  process.exit(2);
}

// Read like the apps' settings, so a cluster URL and its hash-tagged default prefix apply here too.
const { redisUrl, queuePrefix } = loadConfigOrExit((env) => {
  const parsed = parseEnv(z.object({ REDIS_URL: envRedisUrl, QUEUE_PREFIX: envQueuePrefix }), env);
  return { redisUrl: parsed.REDIS_URL, queuePrefix: resolveQueuePrefix(parsed.REDIS_URL, parsed.QUEUE_PREFIX) };
});
const redis = createRedis(redisUrl, "worker");
const queue = openReceiptQueue(redis, queuePrefix);
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
