import { defineConfig } from "vitest/config";

// `npm run test:cluster`: the end-to-end suite and the cluster faults against one 3-master Redis
// Cluster that packages/testing/src/cluster-setup.ts starts for the run (TEST_REDIS_URL names it).
export default defineConfig({
  test: {
    include: ["test/e2e/**/*.test.ts", "test/cluster/**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    globalSetup: ["packages/testing/src/scratch-root.ts", "packages/testing/src/cluster-setup.ts"],
    pool: "forks",
  },
});
