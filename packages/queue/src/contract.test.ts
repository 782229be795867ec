import { describe, expect, it } from "vitest";
import { MAX_RETRY_DELAY_MS, MAX_TRIES, receiptRetryDelayMs } from "./contract.js";

describe("the retry schedule", () => {
  it("doubles from 1 s and never waits more than 5 minutes between tries", () => {
    expect([1, 2, 3, 9, 10, 11, 299].map(receiptRetryDelayMs)).toEqual([
      1000, 2000, 4000, 256_000, 300_000, 300_000, 300_000,
    ]);
    expect(MAX_RETRY_DELAY_MS).toBe(300_000);
  });

  it("outlasts a Postgres outage of 24 h 18 min before a job reaches the failed set", () => {
    let totalMs = 0;
    for (let triesMade = 1; triesMade < MAX_TRIES; triesMade++) totalMs += receiptRetryDelayMs(triesMade);
    expect(totalMs).toBe(87_511_000); // 24 h 18 min 31 s, the figure the README gives
    expect(totalMs).toBeGreaterThanOrEqual(24 * 3600_000);
  });
});
