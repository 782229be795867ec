/** See app-command.mjs. */
export function appCommand(name: "ingest" | "worker" | "reconciler", extraFlags?: readonly string[]): string[];
