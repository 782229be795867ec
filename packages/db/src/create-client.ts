import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "./generated/prisma/client.js";

export type Database = PrismaClient;

export type DatabaseOptions = {
  databaseUrl: string;
  /** Connections in the pool; a worker needs about one per concurrent batch. */
  poolMax?: number;
};

/** Prisma Client over node-postgres: no native query engine, so it runs wherever Node runs. */
export function createDatabase({ databaseUrl, poolMax = 10 }: DatabaseOptions): Database {
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: poolMax });
  return new PrismaClient({ adapter });
}
