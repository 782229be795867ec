import { describe, expect, it } from "vitest";
import { loadConfig } from "./load-config.js";

describe("worker loadConfig", () => {
  it("requires DATABASE_URL and names it", () => {
    expect(() => loadConfig({})).toThrow(/^config error: DATABASE_URL is required \(e\.g\. postgresql:/);
    expect(() => loadConfig({ DATABASE_URL: "mysql://x" })).toThrow(
      /^config error: DATABASE_URL must be a postgresql:\/\/ URL/,
    );
  });

  it("applies the documented defaults", () => {
    expect(loadConfig({ DATABASE_URL: "postgresql://postgres@127.0.0.1/receipts" })).toEqual({
      databaseUrl: "postgresql://postgres@127.0.0.1/receipts",
      redisUrl: "redis://127.0.0.1:6379",
      queuePrefix: "receipt-sync",
      concurrency: 32,
      batchPackets: 500,
      writeConcurrency: 2,
      shutdownTimeoutMs: 10_000,
      lockDurationMs: 10_000,
      stalledIntervalMs: 5_000,
      db: { connectTimeoutMs: 5_000, statementTimeoutMs: 15_000, transactionTimeoutMs: 20_000 },
      retention: undefined,
      metricsPort: undefined,
      logLevel: "info",
    });
  });

  it("prunes only when RETENTION_DAYS is set, hourly by default", () => {
    const base = { DATABASE_URL: "postgresql://x/y" };
    expect(loadConfig({ ...base, RETENTION_DAYS: "30" }).retention).toEqual({
      days: 30,
      intervalMs: 3600_000,
      batchRows: 500,
      pauseMs: 100,
    });
    expect(
      loadConfig({
        ...base,
        RETENTION_DAYS: "7",
        PRUNE_INTERVAL_MS: "60000",
        PRUNE_BATCH_ROWS: "500",
        PRUNE_PAUSE_MS: "0",
      }).retention,
    ).toEqual({ days: 7, intervalMs: 60_000, batchRows: 500, pauseMs: 0 });
    expect(() => loadConfig({ ...base, RETENTION_DAYS: "0" })).toThrow(/^config error: RETENTION_DAYS/);
    expect(() => loadConfig({ ...base, RETENTION_DAYS: "30d" })).toThrow(
      /^config error: RETENTION_DAYS must be a positive whole number of days/,
    );
  });

  it("rejects a concurrency that is not a positive whole number", () => {
    expect(() => loadConfig({ DATABASE_URL: "postgresql://x/y", WORKER_CONCURRENCY: "0" })).toThrow(
      /^config error: WORKER_CONCURRENCY/,
    );
  });
});
