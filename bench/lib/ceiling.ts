import { readMigrations, receiptColumnsOf, splitByLane, DEFAULT_MIGRATIONS_DIR } from "@receipt-sync/db";
import { toWire, type ReceiptPacket, type WirePacket } from "@receipt-sync/protocol";
import { wirePacketWeight } from "@receipt-sync/queue";
import pg from "pg";
import { cpuMeter, machineBusyUs, pidsNamed } from "./process-cpu.js";

export const CEILING_SCHEMA = "bench_ceiling";

type CeilingResult = {
  packetsPerSecond: number;
  elapsedMs: number;
  /**
   * CPU per packet while writing, from /proc: every Postgres process, this process (building the
   * statements), and the whole machine (every process and the kernel's loopback work).
   */
  cpuMicrosPerPacket: { postgres: number; client: number; machine: number };
};

/**
 * The database ceiling: the same set-based statement the worker runs, in the same lanes,
 * sent straight through node-postgres with no queue, no Prisma and no job bookkeeping, into a
 * scratch schema.
 */
export async function measureDbCeiling(options: {
  databaseUrl: string;
  packets: readonly ReceiptPacket[];
  /** The most weight one transaction carries (WORKER_BATCH_PACKETS). */
  batchWeight: number;
  concurrency: number;
  /** Leave the scratch schema in place (for checking what it wrote). */
  keepSchema?: boolean;
}): Promise<CeilingResult> {
  const schema = CEILING_SCHEMA;
  const setup = new pg.Client({ connectionString: options.databaseUrl });
  await setup.connect();
  await setup.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
  await setup.query(`SET search_path TO ${schema}`);
  for (const migration of await readMigrations(DEFAULT_MIGRATIONS_DIR)) await setup.query(migration.sql);
  await setup.end();

  const pool = new pg.Pool({
    connectionString: options.databaseUrl,
    max: options.concurrency,
    options: `-c search_path=${schema}`,
  });
  // The worker's write plan: one connection per lane, each lane writing only its own groups,
  // in transactions of at most `batchWeight` (wirePacketWeight), as the batch writer caps them.
  // The packets are in the form jobs carry them, as the worker receives them.
  const lanes = [...splitByLane(options.packets.map(toWire), options.concurrency).values()].map((packets) => {
    const batches: WirePacket[][] = [[]];
    let weight = 0;
    for (const packet of packets) {
      const packetWeight = wirePacketWeight(packet);
      if (weight + packetWeight > options.batchWeight && batches.at(-1)!.length > 0) {
        batches.push([]);
        weight = 0;
      }
      batches.at(-1)!.push(packet);
      weight += packetWeight;
    }
    return batches;
  });

  const postgresCpu = cpuMeter(() => pidsNamed("postgres"));
  postgresCpu.start();
  const clientCpuAtStart = process.cpuUsage();
  const machineAtStart = machineBusyUs();
  const startedMs = performance.now();
  await Promise.all(
    lanes.map(async (batches) => {
      const client = await pool.connect();
      try {
        for (const batch of batches) {
          const statement = receiptColumnsOf(batch).statement();
          if (statement) await client.query(statement.sql, statement.params);
        }
      } finally {
        client.release();
      }
    }),
  );
  const elapsedMs = performance.now() - startedMs;
  const machineMicros = machineBusyUs() - machineAtStart;
  const clientCpu = process.cpuUsage(clientCpuAtStart);
  const postgresMicros = postgresCpu.stop();
  await pool.end();
  const perPacket = (micros: number) => micros / options.packets.length;
  const result = {
    packetsPerSecond: options.packets.length / (elapsedMs / 1000),
    elapsedMs,
    cpuMicrosPerPacket: {
      postgres: perPacket(postgresMicros),
      client: perPacket(clientCpu.user + clientCpu.system),
      machine: perPacket(machineMicros),
    },
  };
  if (options.keepSchema) return result;
  const cleanup = new pg.Client({ connectionString: options.databaseUrl });
  await cleanup.connect();
  await cleanup.query(`DROP SCHEMA ${schema} CASCADE`);
  await cleanup.end();
  return result;
}
