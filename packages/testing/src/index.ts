// What the tests and the benchmark share. Not a dependency of any app, and not in the image:
// vitest and tsx run this TypeScript as it is, so the package has no build.
export { adminQuery, createTestDatabase, query, uniqueName, type TestDatabase } from "./databases.js";
export { compareWithDatabase, expectedState, type Comparison } from "./expected-state.js";
export { FakeTencent, type FakeTencentOptions } from "./fake-tencent.js";
export { rng, seedFake } from "./fake-tencent-seed.js";
export { APP_ID, callbackQuery, receiptBody, receiptPacket } from "./fixtures.js";
export { completeReplyStatus, pacedLoad, summariseLoad, type LoadSummary } from "./paced-load.js";
export { appCommand, freePort, REPO_ROOT, startApp, waitForHttp, waitForLog, type RunningApp } from "./processes.js";
export { dropQueue, failedJobCount, openQueue, queuedPackets, TEST_REDIS_URL, uniquePrefix } from "./queues.js";
export { peakRssMb, residentMb } from "./peak-rss.js";
export { packetOf, readCopy } from "./receipt-copy.js";
export { TestRedisServer } from "./redis-server.js";
export { RoundRobinProxy } from "./round-robin-proxy.js";
export { scratchDir } from "./scratch-dir.js";
export { startStack, type Stack } from "./stack.js";
export { TcpProxy } from "./tcp-proxy.js";
export { useTestDatabase } from "./use-test-database.js";
export { waitFor } from "./wait-for.js";
