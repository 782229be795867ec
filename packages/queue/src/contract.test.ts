import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  MAX_RETRY_DELAY_MS,
  MAX_TRIES,
  receiptRetryDelayMs,
  stampOf,
  stampOfJson,
  storedStampHolds,
} from "./contract.js";

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

describe("the stamp on stored job data", () => {
  // Any JSON arrays, with strings of any code units (quotes, backslashes, lone surrogates).
  const rows = fc.array(fc.jsonValue({ maxDepth: 3, stringUnit: "binary" }), { minLength: 1, maxLength: 4 });
  const stored = (data: unknown) => JSON.stringify(data);

  it("holds for every job of rows as BullMQ stores it", () => {
    fc.assert(
      fc.property(rows, (r) => {
        expect(storedStampHolds(stored({ rows: r, packetSchema: stampOf(r) }))).toBe(true);
      }),
    );
  });

  it("fails after any edit of the stored text", () => {
    const edit = fc.record({ at: fc.nat(), cut: fc.nat({ max: 3 }), insert: fc.string({ maxLength: 3 }) });
    fc.assert(
      fc.property(rows, fc.array(edit, { minLength: 1, maxLength: 3 }), (r, edits) => {
        const original = stored({ rows: r, packetSchema: stampOf(r) });
        let text = original;
        for (const { at, cut, insert } of edits) {
          const i = at % (text.length + 1);
          text = text.slice(0, i) + insert + text.slice(i + cut);
        }
        fc.pre(text !== original);
        expect(storedStampHolds(text)).toBe(false);
      }),
    );
  });

  it("does not hold for data of another shape, even with a true stamp", () => {
    const r = [["1400000001", null, null, 1, "g", "Public", 1, []]];
    const stamp = stampOf(r);
    for (const text of [
      stored({ packetSchema: stamp, rows: r }), // other key order
      ` ${stored({ rows: r, packetSchema: stamp })}`,
      stored({ rows: r, packetSchema: stamp, more: 1 }),
      `{"rows":${JSON.stringify(r)},"rows":[],"packetSchema":"${stamp}"}`,
      stored({ rows: r }),
      stored({ rowz: r, packetSchema: stamp }),
      `[${stored({ rows: r, packetSchema: stamp }).slice(1)}`,
      `${stored({ rows: r, packetSchema: stamp }).slice(0, -1)}]`,
      stored({ packets: r, packetSchema: stamp }),
      "",
      '{"rows":,"packetSchema":""}',
    ])
      expect(storedStampHolds(text), text).toBe(false);
    // A stamp of a different text of the same rows holds: the digest is of the text as stored.
    const spaced = JSON.stringify(r, null, 1);
    expect(storedStampHolds(`{"rows":${spaced},"packetSchema":"${stampOfJson(spaced)}"}`)).toBe(true);
  });
});
