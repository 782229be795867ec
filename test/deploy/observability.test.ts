import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Queue } from "bullmq";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { REPO_ROOT } from "@receipt-sync/testing";
import { createIngestMetrics } from "../../apps/ingest/src/ingest-metrics.js";
import { createReconcilerMetrics } from "../../apps/reconciler/src/reconciler-metrics.js";
import { createWorkerMetrics } from "../../apps/worker/src/worker-metrics.js";

/** The observability profile as documents: Prometheus finds both apps, every panel queries a real metric. */
type Service = { profiles?: string[]; environment?: Record<string, string>; volumes?: string[]; ports?: string[] };
const compose = parse(readFileSync(join(REPO_ROOT, "docker-compose.yml"), "utf8"), { merge: true }) as {
  services: Record<string, Service>;
};
const prometheus = parse(readFileSync(join(REPO_ROOT, "ops/prometheus/prometheus.yml"), "utf8")) as {
  scrape_configs: {
    job_name: string;
    static_configs?: { targets: string[] }[];
    dns_sd_configs?: { names: string[]; type: string; port: number }[];
  }[];
};
const dashboard = JSON.parse(readFileSync(join(REPO_ROOT, "ops/grafana/dashboards/receipt-sync.json"), "utf8")) as {
  panels: { title: string; description: string; datasource: { uid: string }; targets: { expr: string }[] }[];
};
const datasources = parse(
  readFileSync(join(REPO_ROOT, "ops/grafana/provisioning/datasources/prometheus.yml"), "utf8"),
) as { datasources: { uid: string; url: string }[] };

/** Every series name the apps can expose (histograms add _bucket, _sum and _count). */
function exportedSeries(): Set<string> {
  const ingest = createIngestMetrics({
    spoolDepth: () => 0,
    breakerOpen: () => false,
    orphansAdopted: () => 0,
  }).registry;
  const worker = createWorkerMetrics({} as Queue).registry; // metadata only: collect() is never called
  const reconciler = createReconcilerMetrics().registry;
  const names = new Set<string>();
  const all = [...ingest.getMetricsAsArray(), ...worker.getMetricsAsArray(), ...reconciler.getMetricsAsArray()];
  for (const metric of all as unknown as { name: string; type: string }[]) {
    const { name, type } = metric;
    names.add(name);
    if (type === "histogram") for (const suffix of ["_bucket", "_sum", "_count"]) names.add(`${name}${suffix}`);
  }
  return names;
}

describe("observability profile", () => {
  it("adds Prometheus and Grafana only under --profile observability", () => {
    expect(compose.services.prometheus!.profiles).toEqual(["observability"]);
    expect(compose.services.grafana!.profiles).toEqual(["observability"]);
    expect(compose.services.grafana!.ports).toEqual(["127.0.0.1:${GRAFANA_PORT:-3001}:3000"]);
    expect(compose.services.grafana!.environment).toMatchObject({
      GF_AUTH_DISABLE_LOGIN_FORM: "true",
      GF_AUTH_ANONYMOUS_ORG_ROLE: "Viewer",
    });
  });

  it("scrapes every ingest replica on its admin port and every worker replica on the port the worker serves", () => {
    const ingest = prometheus.scrape_configs.find((c) => c.job_name === "ingest");
    const worker = prometheus.scrape_configs.find((c) => c.job_name === "worker");
    expect(ingest?.dns_sd_configs?.[0]).toMatchObject({
      names: ["ingest"],
      type: "A",
      port: Number(compose.services.ingest!.environment!.ADMIN_PORT),
    });
    expect(compose.services.ingest!.environment!.ADMIN_PORT).not.toBe(compose.services.ingest!.environment!.PORT);
    expect(worker?.dns_sd_configs?.[0]).toMatchObject({
      names: ["worker"],
      type: "A",
      port: Number(compose.services.worker!.environment!.METRICS_PORT),
    });
    expect(compose.services.prometheus!.volumes).toContain(
      "./ops/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro",
    );
  });

  it("has the panels operators asked for, each described", () => {
    const titles = dashboard.panels.map((p) => p.title);
    for (const title of [
      "Ingest rate",
      "Rejected callbacks",
      "Queue depth",
      "End-to-end lag",
      "DB write latency",
      "Quarantined callbacks",
      "Retention",
    ])
      expect(titles).toContain(title);
    expect(dashboard.panels.every((p) => p.description.length > 20)).toBe(true);
  });

  it("queries only metrics the apps export, through the provisioned datasource", () => {
    const series = exportedSeries();
    expect(series.has("receipt_sync_callbacks_total")).toBe(true);
    for (const panel of dashboard.panels) {
      expect(panel.datasource.uid).toBe(datasources.datasources[0]!.uid);
      for (const { expr } of panel.targets) {
        const used = expr.match(/receipt_sync_[a-z_]+/g) ?? [];
        expect(used.length, `${panel.title}: ${expr}`).toBeGreaterThan(0);
        for (const name of used) expect(series.has(name), `${panel.title} uses ${name}`).toBe(true);
      }
    }
    expect(datasources.datasources[0]!.url).toBe("http://prometheus:9090");
  });
});
