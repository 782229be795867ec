import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, query, type TestDatabase } from "@receipt-sync/testing";

/**
 * schema.prisma and prisma/migrations must describe the same tables. Prisma's native engine
 * cannot run here, so Prisma 6.19's JS schema engine renders the schema as SQL ("from empty"),
 * that SQL builds one database, our migrations build another, and their catalogs must match.
 */
const schemaPath = fileURLToPath(new URL("../../../prisma/schema.prisma", import.meta.url));
const require = createRequire(import.meta.url);

const CATALOG_SQL = `
  SELECT 'column' AS kind, c.relname || '.' || a.attname AS name,
         format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
           || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '') AS definition
    FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid AND c.relkind = 'r'
    JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
   WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relname <> '_prisma_migrations'
  UNION ALL
  SELECT 'constraint', cl.relname || '.' || co.conname, pg_get_constraintdef(co.oid)
    FROM pg_constraint co JOIN pg_class cl ON cl.oid = co.conrelid
    JOIN pg_namespace n ON n.oid = cl.relnamespace AND n.nspname = 'public'
   WHERE cl.relname <> '_prisma_migrations'
  UNION ALL
  SELECT 'index', indexname, indexdef FROM pg_indexes
   WHERE schemaname = 'public' AND tablename <> '_prisma_migrations'
  ORDER BY 1, 2`;

let fromSchema: TestDatabase;
let fromMigrations: TestDatabase;
let workDir: string;

async function schemaAsSql(): Promise<string> {
  workDir = await mkdtemp(join(tmpdir(), "rs-drift-"));
  // Prisma 6 wants the url in the schema (Prisma 7 forbids it there) and no v7 generator.
  const schema = (await readFile(schemaPath, "utf8"))
    .replace(/generator client \{[^}]*\}/, "")
    .replace(/datasource db \{[^}]*\}/, 'datasource db {\n  provider = "postgresql"\n  url = env("DATABASE_URL")\n}');
  await writeFile(join(workDir, "schema.prisma"), schema);
  const adapterUrl = pathToFileURL(require.resolve("prisma6-adapter-pg")).href;
  await writeFile(
    join(workDir, "prisma.config.mjs"),
    `import { PrismaPg } from ${JSON.stringify(adapterUrl)};
export default {
  experimental: { adapter: true },
  engine: "js",
  schema: "./schema.prisma",
  adapter: async () => new PrismaPg({ connectionString: process.env.DATABASE_URL }),
};\n`,
  );
  const cli = join(require.resolve("prisma6/package.json"), "..", "build", "index.js");
  const placeholder = fileURLToPath(import.meta.url); // any existing file: these engines are never run
  const result = spawnSync(
    process.execPath,
    [
      cli,
      "migrate",
      "diff",
      "--config",
      join(workDir, "prisma.config.mjs"),
      "--from-empty",
      "--to-schema-datamodel",
      join(workDir, "schema.prisma"),
      "--script",
    ],
    {
      encoding: "utf8",
      env: {
        ...process.env,
        DATABASE_URL: fromSchema.url,
        PRISMA_QUERY_ENGINE_LIBRARY: placeholder,
        PRISMA_SCHEMA_ENGINE_BINARY: placeholder,
        PRISMA_HIDE_UPDATE_MESSAGE: "1",
        CHECKPOINT_DISABLE: "1",
      },
    },
  );
  if (result.status !== 0) throw new Error(`prisma migrate diff failed: ${result.stderr}${result.stdout}`);
  return result.stdout;
}

beforeAll(async () => {
  fromSchema = await createTestDatabase({ migrated: false });
  fromMigrations = await createTestDatabase({ migrated: true });
});
afterAll(async () => {
  await Promise.all([
    fromSchema?.drop(),
    fromMigrations?.drop(),
    workDir && rm(workDir, { recursive: true, force: true }),
  ]);
});

describe("schema.prisma and prisma/migrations", () => {
  it("build identical tables, columns, keys and indexes", async () => {
    const sql = await schemaAsSql();
    expect(sql).toContain("CREATE TABLE");
    await query(fromSchema.url, sql);
    const expected = await query(fromSchema.url, CATALOG_SQL);
    const actual = await query(fromMigrations.url, CATALOG_SQL);
    expect(expected.length).toBeGreaterThan(0);
    expect(actual).toEqual(expected);
  });
});
