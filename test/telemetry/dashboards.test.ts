/**
 * The Grafana dashboards and the Prometheus config: every PromQL expression names only series
 * that exist, TokenForge's from the catalogue and vLLM's from the documented list; histogram
 * quantiles use real histograms; every dashboard parses and its panels have a datasource.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { CATALOGUE } from "../../src/telemetry/catalogue.js";

const DEPLOY = join(import.meta.dirname, "..", "..", "deploy");
const DASHBOARDS = join(DEPLOY, "grafana", "dashboards");

const FUNCTIONS = new Set([
  "histogram_quantile",
  "sum",
  "rate",
  "irate",
  "increase",
  "avg",
  "max",
  "min",
  "count",
  "by",
  "without",
  "or",
  "and",
  "unless",
  "le",
]);

const VLLM = readFileSync(join(DEPLOY, "grafana", "vllm-metrics.txt"), "utf8")
  .split("\n")
  .filter((l) => l.trim() !== "" && !l.startsWith("#"));

interface Panel {
  title: string;
  datasource?: unknown;
  targets?: { expr: string }[];
}

function dashboards(): { file: string; panels: Panel[] }[] {
  return readdirSync(DASHBOARDS)
    .filter((f) => f.endsWith(".json"))
    .map((file) => ({
      file,
      panels: (JSON.parse(readFileSync(join(DASHBOARDS, file), "utf8")) as { panels: Panel[] }).panels,
    }));
}

/** Series names an expression reads: label matchers, groupings, ranges and numbers removed. */
function seriesIn(expr: string): string[] {
  const stripped = expr
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(by|without)\s*\([^)]*\)/g, " ")
    .replace(/"[^"]*"/g, " ");
  const names = stripped.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? [];
  return names.filter((n) => !FUNCTIONS.has(n));
}

describe("Grafana dashboards", () => {
  const ours = new Map<string, string>(Object.values(CATALOGUE).map((m) => [m.name, m.type]));

  it("are the four the project ships, each with panels that query Prometheus", () => {
    const all = dashboards();
    expect(all.map((d) => d.file).sort()).toEqual([
      "gpu.json",
      "latency.json",
      "overview.json",
      "throughput.json",
    ]);
    for (const d of all) {
      expect(d.panels.length, d.file).toBeGreaterThan(2);
      for (const p of d.panels) {
        expect(p.datasource, `${d.file}: ${p.title}`).toBeDefined();
        expect(p.targets?.length, `${d.file}: ${p.title}`).toBeGreaterThan(0);
      }
    }
  });

  it("name only series that exist: ours from the catalogue, vLLM's from the documented list", () => {
    let checked = 0;
    for (const d of dashboards()) {
      for (const p of d.panels) {
        for (const t of p.targets ?? []) {
          const names = seriesIn(t.expr);
          expect(names.length, `${d.file}: ${t.expr}`).toBeGreaterThan(0);
          for (const name of names) {
            checked++;
            const base = name.replace(/_(bucket|sum|count)$/, "");
            const known = ours.has(name) || ours.has(base) || VLLM.includes(name) || VLLM.includes(base);
            expect(known, `${d.file} "${p.title}": unknown series ${name}`).toBe(true);
            if (name.endsWith("_bucket") && ours.has(base)) expect(ours.get(base), name).toBe("histogram");
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(30);
  });

  it("finds series names in expressions, and only those", () => {
    expect(
      seriesIn(
        'histogram_quantile(0.99, sum by (le, model_name) (rate(vllm:e2e_request_latency_seconds_bucket{a="b"}[1m])))',
      ),
    ).toEqual(["vllm:e2e_request_latency_seconds_bucket"]);
    expect(seriesIn("vllm:kv_cache_usage_perc or vllm:gpu_cache_usage_perc")).toEqual([
      "vllm:kv_cache_usage_perc",
      "vllm:gpu_cache_usage_perc",
    ]);
  });
});

describe("Prometheus config", () => {
  it("finds gateway-deployed workers through the gateway, and scrapes the worker, the harness, the gateway and vLLM", () => {
    const config = parse(readFileSync(join(DEPLOY, "prometheus", "prometheus.yml"), "utf8")) as {
      scrape_configs: {
        job_name: string;
        static_configs?: { targets: string[] }[];
        http_sd_configs?: { url: string }[];
      }[];
    };
    expect(config.scrape_configs.map((c) => c.job_name)).toEqual([
      "tokenforge-deployments",
      "tokenforge-worker",
      "tokenforge-bench",
      "tokenforge-gateway",
      "vllm",
    ]);
    const [discovered, ...fixed] = config.scrape_configs;
    expect(discovered!.http_sd_configs![0]!.url).toMatch(/\/prometheus\/targets$/);
    for (const c of fixed) expect(c.static_configs![0]!.targets.length).toBeGreaterThan(0);
  });
});
