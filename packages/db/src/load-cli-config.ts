import { loadConfigOrExit, parseEnv } from "@receipt-sync/runtime";
import { z } from "zod";

/** Where `npm start` keeps receipts on one machine, and where the CLIs look unless told. */
const DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/receipts";

const schema = z.object({
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must be a postgresql:// URL")
    .default(DEFAULT_DATABASE_URL),
});

/** The database CLIs' settings, read like the apps': a bad value exits with one line naming it. */
export function loadCliConfig(env: NodeJS.ProcessEnv = process.env): { databaseUrl: string } {
  return loadConfigOrExit((e) => ({ databaseUrl: parseEnv(schema, e).DATABASE_URL }), env);
}
