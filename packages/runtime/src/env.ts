import { z } from "zod";

export const envPositiveInt = (fallback: number) =>
  z
    .string()
    .trim()
    .regex(/^[0-9]+$/, "must be a positive whole number")
    .transform(Number)
    .pipe(z.int().min(1))
    .default(fallback);

/** A TCP port, e.g. METRICS_PORT; absent unless set. */
export const envPort = z
  .string()
  .regex(/^[0-9]+$/, "must be a port number")
  .transform(Number)
  .pipe(z.int().min(1).max(65535));

export const envLogLevel = z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info");

/** A comma-separated list, blanks dropped: "1400000000, 1400000001" -> ["1400000000", "1400000001"]. */
export const envList = z.string().transform((v) =>
  v
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== ""),
);

export class ConfigError extends Error {}

/**
 * Parses `env` with `schema`; on failure throws one line naming the variable and the fix.
 * Empty strings count as unset, as they do in most deployment tools.
 */
export function parseEnv<S extends z.ZodType>(
  schema: S,
  env: NodeJS.ProcessEnv,
  hints: Record<string, string> = {},
): z.output<S> {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ""));
  const result = schema.safeParse(present);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const name = String(issue?.path[0] ?? "environment");
  const problem = issue?.code === "invalid_type" && present[name] === undefined ? "is required" : issue?.message;
  const hint = hints[name] ? ` (${hints[name]})` : "";
  throw new ConfigError(`config error: ${name} ${problem}${hint}`);
}
