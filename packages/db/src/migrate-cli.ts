// `npm run db:migrate`: applies prisma/migrations without Prisma's native schema engine.
import { loadCliConfig } from "./load-cli-config.js";
import { migrate } from "./migrate.js";

const { databaseUrl } = loadCliConfig();

try {
  const result = await migrate({
    databaseUrl,
    migrationsDir: process.env.MIGRATIONS_DIR || undefined,
    log: (line) => console.log(line),
  });
  console.log(`migrations: ${result.applied.length} applied, ${result.alreadyApplied.length} already applied`);
} catch (error) {
  console.error(`db:migrate failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
