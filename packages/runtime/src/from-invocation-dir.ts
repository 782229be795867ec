import { resolve } from "node:path";

/**
 * A relative path the operator gave (SPOOL_DIR, a file to replay), taken from where they ran the
 * command. npm runs a workspace's scripts in that workspace's directory, so through the root's
 * `npm run start:ingest` a plain relative path would land under apps/ingest; npm names the
 * directory the command ran from in INIT_CWD. Started without npm, the working directory.
 */
export function fromInvocationDir(path: string, env: NodeJS.ProcessEnv = process.env): string {
  return env.INIT_CWD ? resolve(env.INIT_CWD, path) : path;
}
