import { describe, expect, it } from "vitest";
import { CallBudget, type Clock } from "./call-budget.js";

/** A clock that only moves when the budget sleeps (plus `lateMs` per sleep: a timer firing late). */
function fakeClock(lateMs = 0): Clock & { advance: (ms: number) => void } {
  let now = 1_000;
  return {
    nowMs: () => now,
    sleep: async (ms) => {
      now += ms + lateMs;
    },
    advance: (ms) => {
      now += ms;
    },
  };
}

async function callTimes(budget: CallBudget, clock: Clock, calls: number): Promise<number[]> {
  const times: number[] = [];
  await Promise.all(Array.from({ length: calls }, () => budget.take().then(() => times.push(clock.nowMs()))));
  return times;
}

function peakInOneSecond(times: number[]): number {
  let peak = 0;
  for (let lo = 0, hi = 0; hi < times.length; hi++) {
    while (times[hi]! - times[lo]! >= 1000) lo++;
    peak = Math.max(peak, hi - lo + 1);
  }
  return peak;
}

describe("CallBudget", () => {
  it("spaces calls evenly and never lets more than the budget through within one second", async () => {
    const clock = fakeClock();
    const times = await callTimes(new CallBudget(50, clock), clock, 500);
    expect(peakInOneSecond(times)).toBeLessThanOrEqual(50);
    expect(peakInOneSecond(times)).toBeGreaterThanOrEqual(45);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(Math.min(...gaps)).toBeCloseTo(22, 5);
  });

  it("spaces from when a call was let through, so a late timer does not let the next one in early", async () => {
    const clock = fakeClock(15);
    const times = await callTimes(new CallBudget(50, clock), clock, 100);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(22);
  });

  it("halves the rate on each rate-limit answer and restores it after a quiet minute", () => {
    const clock = fakeClock();
    const budget = new CallBudget(40, clock);
    budget.penalize();
    budget.penalize();
    expect(budget.currentRate).toBe(10);
    clock.advance(59_000);
    expect(budget.currentRate).toBe(10);
    clock.advance(1_000);
    expect(budget.currentRate).toBe(40);
  });

  it("keeps to the lower of the penalty and an outside slow-down, never below a sixteenth", () => {
    const clock = fakeClock();
    const budget = new CallBudget(64, clock);
    budget.setExternalFactor(0.25);
    expect(budget.currentRate).toBe(16);
    for (let i = 0; i < 10; i++) budget.penalize();
    expect(budget.currentRate).toBe(4);
    budget.setExternalFactor(1);
    expect(budget.currentRate).toBe(4);
  });

  it("lets a caller give up waiting without holding up the others", async () => {
    const clock = fakeClock();
    const budget = new CallBudget(1, clock);
    await budget.take();
    const aborted = budget.take(AbortSignal.abort(new Error("stop")));
    await expect(aborted).rejects.toThrow("stop");
    await expect(budget.take()).resolves.toBeUndefined();
  });
});
