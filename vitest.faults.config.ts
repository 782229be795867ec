import { defineConfig } from "vitest/config";

// `npm run test:faults`: one file at a time, because each kills and restarts its own services
// (or, for retention, loads a million rows and measures latency).
export default defineConfig({
  test: {
    include: ["test/faults/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    globalSetup: ["packages/testing/src/scratch-root.ts"],
    fileParallelism: false,
  },
});
