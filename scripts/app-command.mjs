// The node command line of an app as its package's `start` script runs it
// (apps/<name>/package.json), run from the repository root: the script's node flags, then
// `extraFlags`, then the entry point. Node keeps the last of a repeated flag,
// so an extra flag wins over the script's. `npm start` (start-all.mjs) and the tests' harness
// (packages/testing) both start the apps with it.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

/**
 * @param {"ingest" | "worker" | "reconciler"} name
 * @param {readonly string[]} [extraFlags]
 * @returns {string[]}
 */
export function appCommand(name, extraFlags = []) {
  const manifest = JSON.parse(readFileSync(`${root}apps/${name}/package.json`, "utf8"));
  const [node, ...args] = manifest.scripts.start.split(" ");
  if (node !== "node") throw new Error(`the start script of apps/${name} does not start with node`);
  // The entry point comes last; a path before it is a flag's value (`--require ./x.js`).
  const entry = args.pop();
  if (entry === undefined || entry.startsWith("-"))
    throw new Error(`the start script of apps/${name} does not end with its entry point`);
  const inPackage = (path) => `apps/${name}/${path}`;
  return [...args.map((arg) => (arg.startsWith("-") ? arg : inPackage(arg))), ...extraFlags, inPackage(entry)];
}
