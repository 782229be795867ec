import { loadConfigOrExit, parseEnv } from "@receipt-sync/runtime";
import { z } from "zod";

/** Where `npm start` keeps receipts on one machine, and where the CLIs look unless told. */
const DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/receipts";

const common = {
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must be a postgresql:// URL")
    .default(DEFAULT_DATABASE_URL),
};

/**
 * The database CLIs' settings, read like the apps': one zod schema (DATABASE_URL, plus the
 * CLI's own variables in `extra`), and a bad value exits with one line naming it.
 */
export function loadCliConfig<E extends z.ZodRawShape = Record<never, never>>(
  extra?: E,
  env: NodeJS.ProcessEnv = process.env,
): z.output<z.ZodObject<typeof common & E>> {
  return loadConfigOrExit((e) => parseEnv(z.object({ ...common, ...extra } as typeof common & E), e), env);
}
