/**
 * The metric catalogue: names are unique and valid, every series is documented in
 * docs/metrics.md, and what the worker and the harness expose is exactly what the catalogue says.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { BenchMetrics } from "../../src/bench/live-metrics.js";
import { Deployments } from "../../src/gateway/deployments.js";
import { GatewayMetrics } from "../../src/gateway/metrics.js";
import { RuntimeRegistry } from "../../src/runtimes/registry.js";
import { openStore } from "../../src/store/db/open.js";
import { CATALOGUE, metricNames } from "../../src/telemetry/catalogue.js";
import { WorkerMetrics } from "../../src/worker/metrics.js";

const DOCS = readFileSync(join(import.meta.dirname, "..", "..", "docs", "metrics.md"), "utf8");

async function exposed(registry: Registry) {
  return (await registry.getMetricsAsJSON()).map((m) => ({ name: m.name, type: String(m.type) }));
}

describe("metric catalogue", () => {
  it("has unique, valid Prometheus names, and histograms have buckets", () => {
    const names = metricNames();
    expect(new Set(names).size).toBe(names.length);
    for (const m of Object.values(CATALOGUE)) {
      expect(m.name, m.name).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/);
      expect(m.help.length, m.name).toBeGreaterThan(10);
      if (m.type === "histogram") expect(("buckets" in m ? m.buckets : []).length, m.name).toBeGreaterThan(3);
    }
  });

  it("documents every series in docs/metrics.md", () => {
    for (const name of metricNames()) expect(DOCS, name).toContain(`\`${name}`);
  });

  it("is what the worker and the harness expose, with the catalogue's types", async () => {
    const worker = (await exposed(new WorkerMetrics(() => undefined).registry)).filter(
      (m) =>
        !m.name.startsWith("tokenforge_worker_process_") && !m.name.startsWith("tokenforge_worker_nodejs_"),
    );
    const bench = (await exposed(new BenchMetrics("r").registry)).filter(
      (m) =>
        !m.name.startsWith("tokenforge_bench_process_") && !m.name.startsWith("tokenforge_bench_nodejs_"),
    );
    const store = await openStore({ dataDir: "memory://" });
    const gateway = (
      await exposed(new GatewayMetrics(new Deployments(store, {}, new RuntimeRegistry([]))).registry)
    ).filter(
      (m) =>
        !m.name.startsWith("tokenforge_gateway_process_") && !m.name.startsWith("tokenforge_gateway_nodejs_"),
    );
    await store.close();
    const byComponent = (c: string) =>
      Object.values(CATALOGUE)
        .filter((m) => m.component === c)
        .map((m) => ({ name: m.name, type: m.type }));
    const sort = (xs: { name: string }[]) => [...xs].sort((a, b) => a.name.localeCompare(b.name));
    expect(sort(worker)).toEqual(sort(byComponent("worker")));
    expect(sort(bench)).toEqual(sort(byComponent("harness")));
    expect(sort(gateway)).toEqual(sort(byComponent("gateway")));
  });
});
