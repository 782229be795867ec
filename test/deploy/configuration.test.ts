import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { envSchema as ingestEnv } from "../../apps/ingest/src/load-config.js";
import { envSchema as reconcilerEnv } from "../../apps/reconciler/src/load-config.js";
import { envSchema as workerEnv } from "../../apps/worker/src/load-config.js";
import { REPO_ROOT } from "@receipt-sync/testing";

/**
 * The README's configuration table, the apps' config schemas and docker-compose.yml describe
 * the same settings: every variable an app reads is documented for it, every documented one is
 * read, and compose passes each one through to the app, so setting it in `.env` works.
 */
const apps = { ingest: ingestEnv, worker: workerEnv, reconciler: reconcilerEnv } as const;
type App = keyof typeof apps;

const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
const section = readme.slice(
  readme.indexOf("## Configuration"),
  readme.indexOf("\n## ", readme.indexOf("## Configuration") + 5),
);
/** variable -> the apps its row says use it ("all" and "both" spelled out). */
const documented = new Map<string, App[]>();
for (const line of section.split("\n")) {
  const cells = line.split("|").map((c) => c.trim());
  if (cells.length < 5 || !cells[1]!.startsWith("`")) continue;
  const usedBy = cells[2]!;
  const users = (Object.keys(apps) as App[]).filter(
    (app) => usedBy.includes(app) || usedBy === "all" || (usedBy === "both" && app !== "reconciler"),
  );
  for (const name of cells[1]!.match(/`([A-Z0-9_]+)`/g) ?? []) documented.set(name.slice(1, -1), users);
}

const compose = parse(readFileSync(join(REPO_ROOT, "docker-compose.yml"), "utf8"), { merge: true }) as {
  services: Record<string, { environment?: Record<string, string> }>;
};

describe("configuration", () => {
  it("documents every variable each app reads, as used by that app", () => {
    for (const [app, schema] of Object.entries(apps) as [App, (typeof apps)[App]][]) {
      for (const name of Object.keys(schema.shape))
        expect({ name, usedBy: documented.get(name) ?? [] }).toEqual({ name, usedBy: expect.arrayContaining([app]) });
    }
  });

  it("documents no variable that no app reads", () => {
    const read = new Set(Object.values(apps).flatMap((schema) => Object.keys(schema.shape)));
    expect([...documented.keys()].filter((name) => !read.has(name))).toEqual([]);
  });

  it("passes every variable an app reads through compose to that app's service", () => {
    for (const [app, schema] of Object.entries(apps) as [App, (typeof apps)[App]][]) {
      const environment = compose.services[app]?.environment ?? {};
      const missing = Object.keys(schema.shape).filter((name) => !(name in environment));
      expect({ app, missing }).toEqual({ app, missing: [] });
    }
  });
});
