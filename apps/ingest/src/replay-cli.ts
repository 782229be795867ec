// `npm run replay -- <file.jsonl> [--url URL] [--concurrency N]`: posts recorded callbacks,
// one `{"query": {...} | "a=b&..", "body": {...}}` per line, to an ingest, for backfills and drills.
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { fromInvocationDir, loadConfigOrExit, parseCliArgs, parseEnv } from "@receipt-sync/runtime";
import { z } from "zod";

const USAGE = "usage: npm run replay -- <file.jsonl> [--url http://127.0.0.1:3000/callback] [--concurrency 8]";

type Line = { lineNo: number; query: string; body: string };
const counts = { ok: 0, failed: 0, invalid: 0 };
const failures: string[] = [];

function parseLine(text: string, lineNo: number): Line | undefined {
  try {
    const record = JSON.parse(text) as { query?: unknown; body?: unknown };
    const query =
      typeof record.query === "string"
        ? record.query
        : new URLSearchParams(record.query as Record<string, string>).toString();
    if (typeof record.body !== "object" || record.body === null) throw new Error("body must be an object");
    return { lineNo, query, body: JSON.stringify(record.body) };
  } catch (error) {
    counts.invalid += 1;
    failures.push(
      `line ${lineNo}: not a {query, body} record (${error instanceof Error ? error.message : String(error)})`,
    );
    return undefined;
  }
}

let total = 0;

function progress(final = false): void {
  if (!process.stderr.isTTY && !final) return;
  const done = counts.ok + counts.failed + counts.invalid;
  const width = 30;
  const filled = total > 0 ? Math.round((done / total) * width) : width;
  const bar = `[${"#".repeat(filled)}${"-".repeat(width - filled)}]`;
  process.stderr.write(
    `\r${bar} ${done}/${total} lines: ${counts.ok} ok, ${counts.failed} failed, ${counts.invalid} invalid${final ? "\n" : ""}`,
  );
}

const parsed = parseCliArgs({ url: { type: "string" }, concurrency: { type: "string" } }, USAGE, true);
const [fileArg] = parsed.positionals;
if (!fileArg) {
  console.error(USAGE);
  process.exit(2);
}
const file = fromInvocationDir(fileArg);
const { INGEST_URL } = loadConfigOrExit((env) =>
  parseEnv(z.object({ INGEST_URL: z.string().default("http://127.0.0.1:3000/callback") }), env),
);
const url = parsed.values.url ?? INGEST_URL;
const concurrency = Number(parsed.values.concurrency ?? 8);

// A first pass counts the lines, so the progress bar knows its end; records stream in the second.
for await (const text of createInterface({ input: createReadStream(file), crlfDelay: Infinity }))
  if (text.trim() !== "") total += 1;
const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
const inFlight = new Set<Promise<void>>();
let lineNo = 0;
for await (const text of lines) {
  lineNo += 1;
  if (text.trim() === "") continue;
  const line = parseLine(text, lineNo);
  if (!line) continue;
  const request = fetch(`${url}?${line.query}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: line.body,
  })
    .then(async (res) => {
      const reply = await res.text();
      if (res.status === 200) counts.ok += 1;
      else {
        counts.failed += 1;
        failures.push(`line ${line.lineNo}: HTTP ${res.status} ${reply}`);
      }
    })
    .catch((error: unknown) => {
      counts.failed += 1;
      failures.push(`line ${line.lineNo}: ${error instanceof Error ? error.message : String(error)}`);
    })
    .finally(() => {
      inFlight.delete(request);
      progress();
    });
  inFlight.add(request);
  if (inFlight.size >= concurrency) await Promise.race(inFlight);
}
await Promise.all(inFlight);
progress(true);
for (const failure of failures.slice(0, 20)) console.error(failure);
if (failures.length > 20) console.error(`... and ${failures.length - 20} more`);
process.exitCode = counts.failed + counts.invalid > 0 ? 1 : 0;
