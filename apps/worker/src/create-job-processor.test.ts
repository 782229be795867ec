import { fromWire, toWire } from "@receipt-sync/protocol";
import { RECEIPT_JOB_NAME, RECEIPT_QUEUE_NAME, ReceiptJobWorker, stampOf, stampOfJson } from "@receipt-sync/queue";
import type { Job } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { dropQueue, openQueue, receiptPacket, TEST_REDIS_URL, uniquePrefix, waitFor } from "@receipt-sync/testing";
import { createJobProcessor, type JobWriter } from "./create-job-processor.js";
import { retryFailed } from "./dlq.js";

const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
const started: { worker: ReceiptJobWorker; queue: ReturnType<typeof openQueue> }[] = [];
afterAll(async () => {
  for (const { worker, queue } of started) {
    await worker.close();
    await dropQueue(queue);
  }
  await connection.quit();
});

/** A worker running the job processor with `writer`, on a queue of its own; with `autorun` false, once started. */
function run(writer: JobWriter, maxTries: number, autorun = true) {
  const prefix = uniquePrefix();
  const retries: number[] = [];
  const processor = createJobProcessor(writer, {
    maxTries,
    delayMs: () => 20,
    onRetry: (job: Job) => retries.push(job.attemptsStarted),
  });
  const worker = new ReceiptJobWorker(RECEIPT_QUEUE_NAME, processor, { connection, prefix, autorun });
  const entry = { worker, queue: openQueue(prefix) };
  started.push(entry);
  return { retries, queue: entry.queue, worker, prefix };
}

const packet = receiptPacket({ eventTimeMs: 1, messages: [{ seq: 1, read: 1, unread: 0 }] });
// What a version before this retry policy added: 12 attempts, uncapped exponential backoff.
const OLD_OPTIONS = {
  attempts: 12,
  backoff: { type: "exponential", delay: 60_000 },
  removeOnComplete: true,
  removeOnFail: false,
};

describe("job retries", () => {
  it("retries a transient failure on its own schedule, whatever options the job was added with", async () => {
    let calls = 0;
    const { retries, queue } = run(
      {
        write: async () => {
          if (++calls <= 3) throw new Error("connection lost");
        },
        quarantine: async () => {},
      },
      10,
    );
    const job = await queue.add(RECEIPT_JOB_NAME, { packets: [packet] }, OLD_OPTIONS);
    await waitFor("the job to complete", async () => (await queue.getJob(job.id!)) === undefined, { timeoutMs: 5000 });
    expect(calls).toBe(4);
    expect(retries).toEqual([1, 2, 3]); // 20 ms apart, not BullMQ's 60 s, 120 s, 240 s
  });

  it("retries a failed quarantine write on the same schedule, then writes the job's valid callbacks", async () => {
    let quarantineCalls = 0;
    const written: unknown[] = [];
    const { retries, queue } = run(
      {
        write: async (packets) => void written.push(...packets),
        quarantine: async () => {
          if (++quarantineCalls <= 3) throw new Error("connection lost");
        },
      },
      10,
    );
    // A spool re-drive's job holding a torn line, with an older version's options.
    const job = await queue.add(RECEIPT_JOB_NAME, { packets: [packet, '{"sdkAppId":"1400000001","rec'] }, OLD_OPTIONS);
    await waitFor("the job to complete", async () => (await queue.getJob(job.id!)) === undefined, { timeoutMs: 5000 });
    expect(quarantineCalls).toBe(4);
    expect(retries).toEqual([1, 2, 3]);
    expect(written).toEqual([toWire(packet)]);
  });

  it("retries a failed quarantine write of a job whose data is no receipt job on the same schedule", async () => {
    let quarantineCalls = 0;
    const { retries, queue } = run(
      {
        write: async () => {},
        quarantine: async () => {
          if (++quarantineCalls <= 3) throw new Error("connection lost");
        },
      },
      10,
    );
    const job = await queue.add(RECEIPT_JOB_NAME, { neither: "rows nor packets" } as never, OLD_OPTIONS);
    await waitFor("the job to complete", async () => (await queue.getJob(job.id!)) === undefined, { timeoutMs: 5000 });
    expect(quarantineCalls).toBe(4);
    expect(retries).toEqual([1, 2, 3]);
  });

  it("moves a job to the failed set after the last try, saying why", async () => {
    const { retries, queue } = run(
      { write: () => Promise.reject(new Error("connection lost")), quarantine: async () => {} },
      3,
    );
    const job = await queue.add(RECEIPT_JOB_NAME, { packets: [packet] }, OLD_OPTIONS);
    const failed = await waitFor(
      "the job in the failed set",
      async () => (await queue.getJobState(job.id!)) === "failed" && (await queue.getJob(job.id!)),
      { timeoutMs: 5000 },
    );
    expect(failed.failedReason).toBe("gave up after 3 tries: connection lost");
    expect(retries.length).toBeGreaterThanOrEqual(2);
  });
});

describe("a job re-driven from the failed set", () => {
  it("gets a full set of tries again", async () => {
    let calls = 0;
    // Three tries fail (the job's all), then one more after the re-drive, then Postgres answers.
    const { queue } = run(
      {
        write: async () => {
          if (++calls <= 4) throw new Error("connection lost");
        },
        quarantine: async () => {},
      },
      3,
    );
    const job = await queue.add(RECEIPT_JOB_NAME, { packets: [packet] }, OLD_OPTIONS);
    await waitFor("the job to fail", async () => (await queue.getJobState(job.id!)) === "failed", { timeoutMs: 5000 });
    expect(calls).toBe(3);
    expect(await retryFailed(queue, [job.id!])).toBe(1);
    await waitFor("the job to complete", async () => (await queue.getJob(job.id!)) === undefined, { timeoutMs: 5000 });
    expect(calls).toBe(5);
  });
});

describe("packet checks", () => {
  // The schema turns a digit-string EventTime into a number, so a parse shows in what the writer gets.
  const marked = toWire(packet);
  marked[6] = String(marked[6]) as unknown as number;
  const webMarked = [...marked];
  webMarked[2] = "Web";
  /** Per job written, per packet: "string" when its rows were taken as they are, "number" when parsed. */
  const howTaken = (seen: unknown[][]) => seen.map((packets) => packets.map((p) => typeof (p as unknown[])[6]));

  it("takes rows as they are only under a stamp of this schema version made for exactly them", async () => {
    const own = stampOf([marked]);
    const seen: unknown[][] = [];
    const quarantined: unknown[] = [];
    const { queue } = run(
      {
        write: async (packets) => void seen.push([...packets]),
        quarantine: async (entries) => void quarantined.push(...entries.map((e) => e.raw)),
      },
      1,
    );
    const edited: unknown[] = [...marked];
    edited[7] = [null];
    const jobs = [
      { rows: [marked], packetSchema: own }, // as the ingest built it: taken as it is
      { rows: [marked] }, // no stamp
      { rows: [marked], packetSchema: `9${own}` }, // another version
      { rows: [marked], packetSchema: 1 }, // a stamp this worker cannot read
      { rows: [webMarked], packetSchema: own }, // edited after stamping
      { rows: [edited, marked], packetSchema: stampOf([marked]) }, // a stamp copied onto other rows
      { packets: [fromWire(marked)], packetSchema: own }, // an older ingest's job
    ];
    for (const data of jobs) await queue.add(RECEIPT_JOB_NAME, data);
    await waitFor("every job written", () => seen.length === jobs.length, { timeoutMs: 5000 });
    expect(howTaken(seen)).toEqual([
      ["string"],
      ["number"],
      ["number"],
      ["number"],
      ["number"],
      ["number"],
      ["number"],
    ]);
    expect(seen[4]).toEqual([toWire({ ...packet, optPlatform: "Web" })]);
    expect(quarantined).toEqual([fromWire(edited)]);
  });

  it("checks the stamp on the rows as Redis holds them, and trusts nothing else in the stored data", async () => {
    // JSON of the same rows that JSON.stringify would not write: only the stored text has this digest.
    const escapedJson = JSON.stringify([marked]).replace(
      /^\[\["(.)/,
      (_, c: string) => `[["\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
    );
    expect(escapedJson).not.toBe(JSON.stringify([marked]));
    expect(JSON.parse(escapedJson)).toEqual([marked]);
    const own = stampOf([marked]);
    const stored = [
      `{"rows":${escapedJson},"packetSchema":${JSON.stringify(stampOfJson(escapedJson))}}`, // digest of the text: taken
      `{"packetSchema":${JSON.stringify(own)},"rows":${JSON.stringify([marked])}}`, // other key order: digest of the rows, taken
      `{"rows":${escapedJson},"packetSchema":${JSON.stringify(own)}}`, // other text, the stamp of the rows: taken
      `{"rows":${JSON.stringify([marked])},"rows":${JSON.stringify([webMarked])},"packetSchema":${JSON.stringify(own)}}`, // rows named twice: parsed
    ];
    const seen: unknown[][] = [];
    const { queue, worker, prefix } = run(
      { write: async (packets) => void seen.push([...packets]), quarantine: async () => {} },
      1,
      false,
    );
    for (const data of stored) {
      const job = await queue.add(RECEIPT_JOB_NAME, { rows: [marked], packetSchema: own });
      await connection.hset(`${prefix}:${RECEIPT_QUEUE_NAME}:${job.id}`, "data", data);
    }
    void worker.run();
    await waitFor("every job written", () => seen.length === stored.length, { timeoutMs: 5000 });
    expect(howTaken(seen)).toEqual([["string"], ["string"], ["string"], ["number"]]);
    expect(seen[3]).toEqual([toWire({ ...packet, optPlatform: "Web" })]);
  });
});
