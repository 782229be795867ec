import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["packages/*/src/**/*.test.ts", "apps/*/src/**/*.test.ts", "test/**/*.test.ts", "bench/**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**", "test/faults/**", "test/cluster/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    globalSetup: ["packages/testing/src/scratch-root.ts"],
    // Files run in parallel, each against its own database and queue prefix.
    pool: "forks",
  },
});
