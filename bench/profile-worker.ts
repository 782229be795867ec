// Profiling aid: one worker drains PACKETS packets (default 60,000) as `npm run bench` times it,
// with NODE_FLAGS (e.g. "--cpu-prof --cpu-prof-dir=prof"; a heap size given here wins over the
// start script's) on its command line and WORKER_ENV (JSON, e.g. '{"DB_WRITE_CONCURRENCY":"3"}')
// in its environment; prints what it measured.
import { createTestDatabase, TEST_REDIS_URL, uniquePrefix } from "@receipt-sync/testing";
import { generateStream } from "./lib/dataset.js";
import { measureDrain } from "./lib/pipeline-runs.js";

const sdkAppId = "1400000001";
const packets = generateStream({ packets: Number(process.env.PACKETS ?? 60_000), groups: 1000, seed: 42, sdkAppId });
const db = await createTestDatabase();
try {
  const drain = await measureDrain({
    databaseUrl: db.url,
    redisUrl: TEST_REDIS_URL,
    sdkAppId,
    prefix: uniquePrefix(),
    packets,
    worker: {
      env: JSON.parse(process.env.WORKER_ENV ?? "{}") as Record<string, string>,
      nodeFlags: (process.env.NODE_FLAGS ?? "").split(" ").filter(Boolean),
    },
  });
  console.log(
    JSON.stringify({
      packets: drain.packets,
      jobs: drain.jobs,
      drainS: +(drain.drainMs / 1000).toFixed(2),
      perSecond: Math.round(drain.packetsPerSecond),
      lost: drain.lost,
      wrong: drain.wrong + drain.extra,
      cpuMicrosPerPacket: drain.cpuMicrosPerPacket,
    }),
  );
} finally {
  await db.drop();
}
