// `npm run db:migrate`: applies prisma/migrations without Prisma's native schema engine.
import { migrate } from "./migrate.js";

const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  console.error("DATABASE_URL is not set: export it, e.g. DATABASE_URL=postgresql://postgres@127.0.0.1:5432/receipts");
  process.exit(1);
}

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
