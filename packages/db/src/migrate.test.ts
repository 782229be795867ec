import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createTestDatabase, query, type TestDatabase } from "@receipt-sync/testing";
import { DEFAULT_MIGRATIONS_DIR, migrate, readMigrations } from "./migrate.js";

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0)) await step();
});

async function emptyDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase({ migrated: false });
  cleanup.push(db.drop);
  return db;
}

async function copyOfMigrations(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "rs-migrations-"));
  await cp(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe("npm run db:migrate", () => {
  const cli = (env: Record<string, string>) =>
    spawnSync(process.execPath, [fileURLToPath(new URL("../dist/migrate-cli.js", import.meta.url))], {
      env: { PATH: process.env.PATH, ...env },
      encoding: "utf8",
    });

  it("migrates the database in DATABASE_URL and says what it did", async () => {
    const db = await emptyDatabase();
    const names = (await readMigrations(DEFAULT_MIGRATIONS_DIR)).map((m) => m.name);
    const first = cli({ DATABASE_URL: db.url });
    expect(first.status).toBe(0);
    expect(first.stdout).toBe(
      `${names.map((n) => `applied ${n}\n`).join("")}migrations: ${names.length} applied, 0 already applied\n`,
    );
    expect(cli({ DATABASE_URL: db.url }).stdout).toBe(`migrations: 0 applied, ${names.length} already applied\n`);
  });

  it("stops with one line naming DATABASE_URL when it is not a Postgres URL", () => {
    const result = cli({ DATABASE_URL: "mysql://127.0.0.1/receipts" });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^config error: DATABASE_URL must be a postgresql:\/\/ URL/);
  });
});

describe("migrate", () => {
  it("applies every migration once and records it the way prisma migrate deploy does", async () => {
    const db = await emptyDatabase();
    const migrations = await readMigrations(DEFAULT_MIGRATIONS_DIR);
    expect(migrations.length).toBeGreaterThan(0);

    const first = await migrate({ databaseUrl: db.url });
    expect(first.applied).toEqual(migrations.map((m) => m.name));
    const second = await migrate({ databaseUrl: db.url });
    expect(second).toEqual({ applied: [], alreadyApplied: migrations.map((m) => m.name) });

    const rows = await query<{
      migration_name: string;
      checksum: string;
      finished: boolean;
      applied_steps_count: number;
    }>(
      db.url,
      `SELECT migration_name, checksum, finished_at IS NOT NULL AS finished, applied_steps_count FROM "_prisma_migrations" ORDER BY migration_name`,
    );
    expect(rows).toEqual(
      migrations.map((m) => ({
        migration_name: m.name,
        checksum: createHash("sha256").update(m.sql).digest("hex"),
        finished: true,
        applied_steps_count: 1,
      })),
    );
  });

  it("refuses to run when an applied migration file was edited afterwards", async () => {
    const db = await emptyDatabase();
    const dir = await copyOfMigrations();
    await migrate({ databaseUrl: db.url, migrationsDir: dir });
    const [first] = await readMigrations(dir);
    await writeFile(join(dir, first!.name, "migration.sql"), `${first!.sql}\n-- edited\n`);
    await expect(migrate({ databaseUrl: db.url, migrationsDir: dir })).rejects.toThrow(
      /was changed after it was applied/,
    );
  });

  it("rolls back a failing migration completely, leaving it to be fixed and re-run", async () => {
    const db = await emptyDatabase();
    const dir = await copyOfMigrations();
    await migrate({ databaseUrl: db.url, migrationsDir: dir });
    const broken = join(dir, "99990101000000_broken");
    await cp(join(dir, (await readMigrations(dir))[0]!.name), broken, { recursive: true });
    await writeFile(join(broken, "migration.sql"), "CREATE TABLE half_done (id int);\nSELECT no_such_function();\n");
    await expect(migrate({ databaseUrl: db.url, migrationsDir: dir })).rejects.toThrow(/99990101000000_broken failed/);
    const leftovers = await query(db.url, "SELECT 1 FROM pg_tables WHERE tablename = 'half_done'");
    const recorded = await query(
      db.url,
      `SELECT 1 FROM "_prisma_migrations" WHERE migration_name = '99990101000000_broken'`,
    );
    expect({ leftovers, recorded }).toEqual({ leftovers: [], recorded: [] });
  });
});
