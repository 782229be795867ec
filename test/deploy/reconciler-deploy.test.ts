import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { appCommand, REPO_ROOT } from "@receipt-sync/testing";

/** The reconciler as deployed: off by default, one replica, scraped, documented. */
type Service = {
  profiles?: string[];
  command?: string[];
  environment?: Record<string, string>;
  deploy?: { replicas?: number };
  depends_on?: Record<string, { condition: string }>;
};
const compose = parse(readFileSync(join(REPO_ROOT, "docker-compose.yml"), "utf8"), { merge: true }) as {
  services: Record<string, Service>;
};
const prometheus = parse(readFileSync(join(REPO_ROOT, "ops/prometheus/prometheus.yml"), "utf8")) as {
  scrape_configs: { job_name: string; dns_sd_configs?: { names: string[]; type: string; port: number }[] }[];
};
const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
const reconciler = compose.services.reconciler!;

describe("the reconciler's deployment", () => {
  it("runs only under --profile reconciler, as one replica, with the npm script's command line", () => {
    expect(reconciler.profiles).toEqual(["reconciler"]);
    expect(reconciler.deploy?.replicas).toBe(1);
    expect(reconciler.command).toEqual(["node", ...appCommand("reconciler")]);
    expect(reconciler.depends_on).toMatchObject({
      migrate: { condition: "service_completed_successfully" },
      postgres: { condition: "service_healthy" },
    });
  });

  it("gives its SecretKeys no default, and is scraped on the port it serves", () => {
    expect(reconciler.environment!.TENCENT_SECRET_KEYS).toBe("${TENCENT_SECRET_KEYS:-}");
    const job = prometheus.scrape_configs.find((c) => c.job_name === "reconciler");
    expect(job?.dns_sd_configs?.[0]).toMatchObject({
      names: ["reconciler"],
      type: "A",
      port: Number(reconciler.environment!.METRICS_PORT),
    });
  });

  it("documents every variable it reads in the README's configuration table", () => {
    const config = readFileSync(join(REPO_ROOT, "apps/reconciler/src/load-config.ts"), "utf8");
    const variables = [...config.matchAll(/^ {2}([A-Z][A-Z_]+): /gm)].map((m) => m[1]!);
    expect(variables.length).toBeGreaterThan(10);
    for (const name of variables) expect(readme, name).toMatch(new RegExp(`\\| \`${name}\`|\`${name}\`, `));
    for (const name of Object.keys(reconciler.environment!)) expect(variables).toContain(name);
  });
});
