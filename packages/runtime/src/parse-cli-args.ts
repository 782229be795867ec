import { parseArgs, type ParseArgsConfig } from "node:util";

/** A CLI's usage error: printed with its usage line, exit code 2. */
export function usageError(usage: string): (message: string) => never {
  return (message) => {
    console.error(`${message}\n${usage}`);
    process.exit(2);
  };
}

/** Parses the command line with node:util's parseArgs; an unknown or malformed flag is a usage error. */
type Options = NonNullable<ParseArgsConfig["options"]>;
type Parsed<O extends Options> = ReturnType<typeof parseArgs<{ options: O; allowPositionals: boolean; strict: true }>>;

export function parseCliArgs<const O extends Options>(options: O, usage: string, allowPositionals = false): Parsed<O> {
  try {
    return parseArgs({ options, allowPositionals, strict: true });
  } catch (error) {
    return usageError(usage)(error instanceof Error ? error.message : String(error));
  }
}
