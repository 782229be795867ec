// `npm run bench -- --scaling`: drain throughput with 1, 2 and 4 worker processes against the
// same Postgres, next to the SQL ceiling, with the CPU each kind of process spends per callback.
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, loadavg, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { TEST_REDIS_URL } from "@receipt-sync/testing";
import { barChartSvg } from "./lib/chart.js";
import { generateStream } from "./lib/dataset.js";
import { machineBusyUs } from "./lib/process-cpu.js";
import { measureCeiling, measureWorkers, type ScalingPoint } from "./lib/scaling.js";

const settings = {
  packets: Number(process.env.BENCH_SCALING_PACKETS ?? 200_000),
  workerCounts: (process.env.BENCH_SCALING_WORKERS ?? "1,2,4").split(",").map(Number),
  groups: 1000,
  sdkAppId: "1400000001",
  // As the worker writes by default, and as `npm run bench` measures its ceiling.
  ceilingConnections: 2,
  ceilingBatchWeight: 500,
};

const resultsDir = fileURLToPath(new URL("./results/", import.meta.url));
const startedMs = Date.now();
const progress = (line: string) =>
  process.stderr.write(`[${((Date.now() - startedMs) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
const us = (n: number) => Math.round(n);
const pct = (share: number | undefined) => `${Math.round(100 * (share ?? 0))} %`;

export async function runScaling(): Promise<void> {
  const cores = cpus().length;
  const loadAverageAtStart = loadavg();
  progress(
    `machine: ${cores} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
  // How quiet the machine is without us: its busy share over 5 s before anything starts.
  const idleStartUs = machineBusyUs();
  await new Promise((resolve) => setTimeout(resolve, 5000));
  const busyBeforeShare = (machineBusyUs() - idleStartUs) / (5e6 * cores);
  progress(`machine ${(100 * busyBeforeShare).toFixed(0)} % busy before the run (other users of the machine)`);
  const packets = generateStream({
    packets: settings.packets,
    groups: settings.groups,
    seed: 13,
    sdkAppId: settings.sdkAppId,
  });
  const ceiling = await measureCeiling(packets, settings.ceilingConnections, settings.ceilingBatchWeight);
  progress(
    `SQL ceiling: ${us(ceiling.packetsPerSecond)} packets/s, Postgres ${us(ceiling.postgresCpuUsPerCallback)} µs CPU per callback (+ ${us(ceiling.postgresBackgroundCpuUsPerCallback)} µs background)`,
  );
  const points: ScalingPoint[] = [];
  for (const workers of settings.workerCounts) {
    const point = await measureWorkers({ redisUrl: TEST_REDIS_URL, cores }, workers, packets);
    points.push(point);
    const cpu = point.cpuUsPerCallback;
    progress(
      `${workers} worker(s): ${us(point.packetsPerSecond)} packets/s over ${point.windowSeconds.toFixed(1)} s; CPU per callback: workers ${us(cpu.workers)} µs, ` +
        `Postgres ${us(cpu.postgres)} µs (+ ${us(cpu.postgresBackground)} µs background), Redis ${us(cpu.redis)} µs; machine ${(100 * point.machineBusyShare).toFixed(0)} % busy, ` +
        `${(100 * point.otherProcessesShare).toFixed(0)} % of it other processes', ${(100 * point.interruptShare).toFixed(0)} % kernel interrupts; backends ${JSON.stringify(point.backendStates)}; ledger ${point.ledgerRowsWritten}/${point.ledgerRowsExpected}`,
    );
    if (point.ledgerRowsWritten !== point.ledgerRowsExpected)
      throw new Error(
        `${workers} workers wrote ${point.ledgerRowsWritten} ledger rows, expected ${point.ledgerRowsExpected}`,
      );
  }

  await mkdir(resultsDir, { recursive: true });
  const at = new Date().toISOString();
  await writeFile(
    `${resultsDir}scaling.json`,
    `${JSON.stringify({ at, machine: { cores, totalMemGiB: Math.round(totalmem() / 2 ** 30), node: process.version, busyBeforeShare, loadAverageAtStart }, settings, ceiling, points }, null, 2)}\n`,
  );
  await writeFile(
    `${resultsDir}scaling.svg`,
    barChartSvg(`Drain throughput by worker processes (${cores} cores, one run)`, [
      {
        label: `SQL ceiling: raw pg, ${ceiling.connections} connections`,
        value: ceiling.packetsPerSecond,
        unit: "packets/s",
      },
      ...points.map((p) => ({
        label: `${p.workers} worker process${p.workers === 1 ? "" : "es"}`,
        value: p.packetsPerSecond,
        unit: "packets/s",
      })),
    ]),
  );
  const rows = points.map(
    (p) =>
      `| ${p.workers} | ${us(p.packetsPerSecond)} | ${(p.packetsPerSecond / ceiling.packetsPerSecond).toFixed(2)} | ${us(p.cpuUsPerCallback.workers)} | ${us(p.cpuUsPerCallback.postgres)} + ${us(p.cpuUsPerCallback.postgresBackground)} | ${us(p.cpuUsPerCallback.redis)} | ${(100 * p.machineBusyShare).toFixed(0)} % (${(100 * p.otherProcessesShare).toFixed(0)} % others, ${(100 * p.interruptShare).toFixed(0)} % irq) | ${pct(p.backendStates.cpu)} / ${pct(p.backendStates["Client:ClientRead"])} / ${pct(p.backendStates["Lock:transactionid"])} |`,
  );
  process.stdout.write(
    [
      "",
      `SQL ceiling: ${us(ceiling.packetsPerSecond)} packets/s (${ceiling.connections} connections, batches of ${ceiling.batchPackets}); Postgres ${us(ceiling.postgresCpuUsPerCallback)} µs CPU per callback (+ ${us(ceiling.postgresBackgroundCpuUsPerCallback)} µs background)`,
      "",
      "| workers | packets/s | of ceiling | worker µs/cb | Postgres µs/cb (+ background) | Redis µs/cb | machine busy | backends: running / waiting for worker / row lock |",
      "|---|---|---|---|---|---|---|---|",
      ...rows,
      "",
    ].join("\n"),
  );
}
