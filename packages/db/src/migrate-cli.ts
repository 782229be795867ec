// `npm run db:migrate`: applies prisma/migrations without Prisma's native schema engine.
import { fromInvocationDir } from "@receipt-sync/runtime";
import { z } from "zod";
import { loadCliConfig } from "./load-cli-config.js";
import { migrate } from "./migrate.js";

const { DATABASE_URL: databaseUrl, MIGRATIONS_DIR } = loadCliConfig({ MIGRATIONS_DIR: z.string().optional() });

try {
  const result = await migrate({
    databaseUrl,
    migrationsDir: MIGRATIONS_DIR === undefined ? undefined : fromInvocationDir(MIGRATIONS_DIR),
    log: (line) => console.log(line),
  });
  console.log(`migrations: ${result.applied.length} applied, ${result.alreadyApplied.length} already applied`);
} catch (error) {
  console.error(`db:migrate failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
