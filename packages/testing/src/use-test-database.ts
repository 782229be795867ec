import { afterAll, beforeAll, beforeEach } from "vitest";
import { createTestDatabase, query, type TestDatabase } from "./databases.js";

type UsedDatabase<D> = { readonly url: string; readonly db: D };

/**
 * A migrated database of this test file's own with a client on it (made by the caller's
 * `createDatabase`, from the package's source or its build), both made before the file's tests
 * and removed after them; `truncate` names the tables emptied before each test.
 */
export function useTestDatabase<D extends { $disconnect: () => Promise<void> }>(
  createDatabase: (options: { databaseUrl: string; poolMax: number }) => D,
  options: { poolMax?: number; truncate?: string[] } = {},
): UsedDatabase<D> {
  let testDb: TestDatabase | undefined;
  let db: D | undefined;
  beforeAll(async () => {
    testDb = await createTestDatabase();
    db = createDatabase({ databaseUrl: testDb.url, poolMax: options.poolMax ?? 4 });
  });
  afterAll(async () => {
    await db?.$disconnect();
    await testDb?.drop();
  });
  const tables = options.truncate ?? [];
  if (tables.length > 0) beforeEach(() => query(testDb!.url, `TRUNCATE ${tables.join(", ")}`).then(() => undefined));
  return {
    get url() {
      return testDb!.url;
    },
    get db() {
      return db!;
    },
  };
}
