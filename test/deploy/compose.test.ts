import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { appCommand, REPO_ROOT } from "@receipt-sync/testing";

/**
 * No Docker engine runs where these tests run, so the compose file and Dockerfile are checked
 * as documents: the settings the pipeline depends on, and (where Debian's docker-compose is
 * installed, as .ci/run does) Compose's own validation.
 */
type Service = {
  profiles?: string[];
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  container_name?: string;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  volumes?: string[];
};

const composeText = readFileSync(join(REPO_ROOT, "docker-compose.yml"), "utf8");
const compose = parse(composeText, { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
const dockerfile = readFileSync(join(REPO_ROOT, "Dockerfile"), "utf8");

describe("docker-compose.yml", () => {
  it("runs postgres, redis, a one-shot migrate, ingest and worker by default", () => {
    const lean = Object.entries(services)
      .filter(([, s]) => s.profiles === undefined)
      .map(([name]) => name);
    expect(lean.sort()).toEqual(["ingest", "migrate", "postgres", "redis", "worker"]);
  });

  it("configures Redis the way BullMQ requires: AOF on, nothing evicted", () => {
    const command = services.redis!.command!.join(" ");
    expect(command).toContain("--appendonly yes");
    expect(command).toContain("--appendfsync always");
    expect(command).toContain("--maxmemory-policy noeviction");
    expect(services.redis!.volumes).toEqual(["redis-data:/data"]);
  });

  it("starts ingest and worker only after migrate finished and their stores are healthy", () => {
    for (const name of ["ingest", "worker"]) {
      expect(services[name]!.depends_on).toMatchObject({
        migrate: { condition: "service_completed_successfully" },
        redis: { condition: "service_healthy" },
      });
    }
    expect(services.worker!.depends_on).toMatchObject({ postgres: { condition: "service_healthy" } });
    expect(services.migrate!.depends_on).toMatchObject({ postgres: { condition: "service_healthy" } });
  });

  it("lets workers scale: no fixed container name or host port", () => {
    expect(services.worker!.container_name).toBeUndefined();
    expect(services.worker!.ports).toBeUndefined();
  });

  it("publishes the ingest's webhook port, and its admin port on loopback only", () => {
    const { PORT, ADMIN_PORT } = services.ingest!.environment!;
    expect(services.ingest!.ports).toEqual([
      `\${INGEST_PORT:-3000}:${PORT}`,
      `127.0.0.1:\${INGEST_ADMIN_PORT:-${ADMIN_PORT}}:${ADMIN_PORT}`,
    ]);
  });

  it("keeps the ingest's spool on a volume the non-root user owns, one directory per replica (its hostname)", () => {
    expect(services.ingest!.environment!.SPOOL_DIR).toBe("/app/spool");
    expect(services.ingest!.environment!.INGEST_INSTANCE).toBe("${INGEST_INSTANCE:-}");
    expect(services.ingest!.container_name).toBeUndefined();
    expect(services.ingest!.volumes).toEqual(["ingest-spool:/app/spool"]);
    expect(dockerfile).toContain("chown node:node /app/spool");
  });

  it("health-checks postgres, redis and the ingest's readiness", () => {
    for (const name of ["postgres", "redis", "ingest"])
      expect(services[name]!.healthcheck?.test.length).toBeGreaterThan(0);
    expect(services.ingest!.healthcheck!.test.join(" ")).toContain("/readyz");
  });

  it("runs commands that the build produces, from one image", () => {
    for (const name of ["migrate", "ingest", "worker"]) {
      const service = services[name]!;
      expect(service.image).toBe("receipt-sync:local");
      expect(service.build).toBe(".");
      const entry = service.command!.at(-1)!;
      expect(existsSync(join(REPO_ROOT, entry.replace(/\/dist\/(.*)\.js$/, "/src/$1.ts")))).toBe(true);
    }
  });

  it("starts ingest and worker with the same node command lines as the npm scripts", () => {
    for (const name of ["ingest", "worker"] as const)
      expect(services[name]!.command).toEqual(["node", ...appCommand(name)]);
  });

  it("requires the secrets and the SDKAppID instead of defaulting them", () => {
    expect(services.ingest!.environment!.SDKAPPID).toMatch(/^\$\{SDKAPPID:\?/);
    expect(services.postgres!.environment!.POSTGRES_PASSWORD).toMatch(/^\$\{POSTGRES_PASSWORD:\?/);
    expect(services.worker!.environment!.DATABASE_URL).toContain("${POSTGRES_PASSWORD:?");
  });

  const composeCli = spawnSync("docker-compose", ["version"], { encoding: "utf8" }).status === 0;
  it.skipIf(!composeCli)("passes docker-compose's own validation", () => {
    const env = { ...process.env, SDKAPPID: "1400000001", POSTGRES_PASSWORD: "pw" };
    const result = spawnSync("docker-compose", ["-f", "docker-compose.yml", "config", "--quiet"], {
      cwd: REPO_ROOT,
      env,
      encoding: "utf8",
    });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const noAppId = spawnSync("docker-compose", ["-f", "docker-compose.yml", "config", "--quiet"], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH, POSTGRES_PASSWORD: "pw" },
      encoding: "utf8",
    });
    expect(noAppId.status).not.toBe(0);
    expect(noAppId.stderr).toContain("set SDKAPPID");
  });
});

describe("Dockerfile", () => {
  it("builds in one stage and runs as a non-root user in another", () => {
    expect(dockerfile.match(/^FROM /gm)).toHaveLength(2);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toContain("npm run build");
  });

  it("copies every workspace manifest before npm ci", () => {
    const root = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { workspaces: string[] };
    const dirs = root.workspaces.flatMap((pattern) => {
      const parent = pattern.replace(/\/\*$/, "");
      return spawnSync("ls", [parent], { cwd: REPO_ROOT, encoding: "utf8" })
        .stdout.trim()
        .split("\n")
        .map((d) => `${parent}/${d}`);
    });
    for (const dir of dirs) expect(dockerfile).toContain(`COPY ${dir}/package.json ${dir}/`);
  });

  it("runs the ingest by default, with the node command line of its npm script", () => {
    // Docker runs the last CMD, and an ENTRYPOINT would run instead of it.
    const commands = [...dockerfile.matchAll(/^CMD (.*)$/gm)].map((match) => match[1]!);
    expect(JSON.parse(commands.at(-1) ?? "null")).toEqual(["node", ...appCommand("ingest")]);
    expect(dockerfile).not.toMatch(/^ENTRYPOINT/m);
  });
});
