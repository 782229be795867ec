import { describe, expect, it } from "vitest";
import { GroupCommit } from "./group-commit.js";

describe("GroupCommit", () => {
  it("commits a lone item at once and groups items that arrive while a commit is in flight", async () => {
    const groups: number[][] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const commit = new GroupCommit<number>({
      maxGroupSize: 10,
      maxConcurrentCommits: 1,
      commit: async (items) => {
        groups.push(items);
        if (groups.length === 1) await gate;
      },
    });
    const first = commit.submit(0);
    await new Promise((resolve) => setImmediate(resolve));
    const rest = Array.from({ length: 25 }, (_, i) => commit.submit(i + 1));
    expect(groups).toEqual([[0]]);
    release();
    await Promise.all([first, ...rest]);
    expect(groups.map((g) => g.length)).toEqual([1, 10, 10, 5]);
    expect(groups.flat()).toEqual(Array.from({ length: 26 }, (_, i) => i));
    expect(commit.backlog).toBe(0);
  });

  it("weighs items by sizeOf and never splits one", async () => {
    const groups: number[][] = [];
    const commit = new GroupCommit<number>({
      maxGroupSize: 5,
      maxConcurrentCommits: 1,
      sizeOf: (n) => n,
      commit: async (items) => void groups.push(items),
    });
    await Promise.all([2, 3, 3, 7, 1].map((n) => commit.submit(n)));
    expect(groups).toEqual([[2, 3], [3], [7], [1]]);
  });

  it("refuses an item whose size cannot be taken, and commits the others", async () => {
    const groups: number[][] = [];
    const commit = new GroupCommit<number>({
      maxGroupSize: 5,
      maxConcurrentCommits: 1,
      sizeOf: (n) => {
        if (n < 0) throw new TypeError("no size");
        return 1;
      },
      commit: async (items) => void groups.push(items),
    });
    const results = await Promise.allSettled([1, -1, 2].map((n) => commit.submit(n)));
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(groups.flat()).toEqual([1, 2]);
  });

  it("with isolateFailures, fails only the item that fails on its own", async () => {
    const commit = new GroupCommit<string>({
      maxGroupSize: 10,
      maxConcurrentCommits: 1,
      isolateFailures: true,
      commit: async (items) => {
        if (items.includes("bad")) throw new Error("bad item in group");
      },
    });
    const results = await Promise.allSettled(["a", "bad", "c"].map((s) => commit.submit(s)));
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
  });

  it("without isolateFailures, rejects every item of a failed group, and drain() still settles", async () => {
    const commit = new GroupCommit<string>({
      maxGroupSize: 10,
      maxConcurrentCommits: 1,
      commit: async () => Promise.reject(new Error("down")),
    });
    const results = await Promise.allSettled(["a", "b"].map((s) => commit.submit(s)));
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    await commit.drain();
    expect(commit.backlog).toBe(0);
  });
});
