import { createTestDatabase, type TestDatabase } from "./databases.js";
import { APP_ID } from "./fixtures.js";
import { freePort, startApp, waitForHttp, type RunningApp } from "./processes.js";
import { dropQueue, openQueue, TEST_REDIS_URL, uniquePrefix } from "./queues.js";

/** The built ingest and worker as processes, on their own database and queue prefix. */
export type Stack = {
  db: TestDatabase;
  prefix: string;
  /** http://127.0.0.1:<ingest port> */
  base: string;
  ingest: RunningApp;
  worker: RunningApp;
  /** Stops both processes and removes the database and the queue's keys. */
  stop: () => Promise<void>;
};

export async function startStack(
  options: { ingestEnv?: Record<string, string>; workerEnv?: Record<string, string> } = {},
): Promise<Stack> {
  const db = await createTestDatabase();
  const prefix = uniquePrefix();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const shared = { REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix };
  const ingest = startApp("ingest", { ...shared, SDKAPPID: APP_ID, PORT: String(port), ...options.ingestEnv });
  const worker = startApp("worker", { ...shared, DATABASE_URL: db.url, ...options.workerEnv });
  await waitForHttp(`${base}/readyz`);
  return {
    db,
    prefix,
    base,
    ingest,
    worker,
    stop: async () => {
      await Promise.all([ingest.stop(), worker.stop()]);
      await dropQueue(openQueue(prefix));
      await db.drop();
    },
  };
}
