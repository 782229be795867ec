import { defineConfig } from "vitest/config";

// `npm run test:faults`: one file, run alone, because it kills and restarts its own services.
export default defineConfig({
  test: {
    include: ["test/faults/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    globalSetup: ["test/support/scratch-root.ts"],
    fileParallelism: false,
  },
});
