// Profiling aid: fills a queue, drains it with one worker under `--cpu-prof`, prints CPU per packet.
import { spawn } from "node:child_process";
import { openReceiptQueue, createRedis, waitForRedis } from "@receipt-sync/queue";
import { createTestDatabase, TEST_REDIS_URL, uniquePrefix, waitFor } from "@receipt-sync/testing";
import { generateStream } from "./lib/dataset.js";
import { fillQueue } from "./lib/fill-queue.js";
import { cpuMeter, cpuMicros, pidsNamed } from "./lib/process-cpu.js";

const packets = generateStream({
  packets: Number(process.env.PACKETS ?? 60_000),
  groups: 1000,
  seed: 42,
  sdkAppId: "1400000001",
});
const db = await createTestDatabase();
const prefix = uniquePrefix();
const redis = createRedis(TEST_REDIS_URL, "producer");
await waitForRedis(redis, 5000);
const queue = openReceiptQueue(redis, prefix);
await fillQueue(TEST_REDIS_URL, prefix, packets);
const flags = (process.env.NODE_FLAGS ?? "").split(" ").filter(Boolean);
const postgres = cpuMeter(() => pidsNamed("postgres"));
postgres.start();
const startedMs = performance.now();
const worker = spawn(process.execPath, ["--max-old-space-size=192", ...flags, "apps/worker/dist/main.js"], {
  env: {
    PATH: process.env.PATH,
    DATABASE_URL: db.url,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: prefix,
    LOG_LEVEL: "warn",
    ...(process.env.WORKER_ENV ? JSON.parse(process.env.WORKER_ENV) : {}),
  },
  stdio: "inherit",
});
let workerCpu = 0;
await waitFor(
  "drain",
  async () => {
    postgres.sample();
    workerCpu = cpuMicros(worker.pid!) || workerCpu;
    const c = await queue.getJobCounts("waiting", "active", "delayed");
    return c.waiting! + c.active! + c.delayed! === 0;
  },
  { timeoutMs: 300_000, intervalMs: 20 },
);
const drainS = (performance.now() - startedMs) / 1000;
workerCpu = cpuMicros(worker.pid!);
const pgCpu = postgres.stop();
worker.kill("SIGTERM");
await new Promise((r) => worker.once("exit", r));
console.log(
  JSON.stringify({
    packets: packets.length,
    drainS: +drainS.toFixed(2),
    perSecond: Math.round(packets.length / drainS),
    workerUsPerPacket: +(workerCpu / packets.length).toFixed(1),
    postgresUsPerPacket: +(pgCpu / packets.length).toFixed(1),
  }),
);
await queue.obliterate({ force: true });
await queue.close();
await redis.quit();
await db.drop();
