import { ConfigError } from "./env.js";

/** Runs `load` on the environment; a ConfigError is printed as its one line and the process exits 1. */
export function loadConfigOrExit<T>(load: (env: NodeJS.ProcessEnv) => T, env: NodeJS.ProcessEnv = process.env): T {
  try {
    return load(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}
