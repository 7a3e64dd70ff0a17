/**
 * The published results site: entries from result files, a bounded history per model and engine,
 * every cost recomputed with the profile given at publish time, the arithmetic shown, and text
 * that cannot break out of the page.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { costPer1M } from "../../src/bench/cost.js";
import { costProfile } from "../../src/bench/cost-profile.js";
import { type BenchResult, RESULT_SCHEMA } from "../../src/bench/run.js";
import { SITE_SCHEMA, type SiteData } from "../../src/site/data.js";
import { publish } from "../../src/site/publish.js";

const dir = mkdtempSync(join(tmpdir(), "tokenforge-site-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A minimal result: one workload on one runtime with the given throughputs. */
function result(id: string, startedAt: string, input: number, output: number, workload = "qa"): BenchResult {
  return {
    schema: RESULT_SCHEMA,
    id,
    status: "complete",
    startedAt,
    finishedAt: startedAt,
    seed: 0,
    config: { model: "synthetic:tiny", runtimes: ["llamacpp"], targets: {}, workloads: [], seed: 0 },
    environment: {
      tokenforge: "0.1.0",
      node: "v22",
      undici: "7",
      platform: "linux",
      osRelease: "6",
      arch: "x64",
      cpuModel: "EPYC",
      cpuCount: 2,
      memoryBytes: 24 * 2 ** 30,
      hostname: "h",
    },
    targets: [
      { runtime: "llamacpp", url: "http://x", mode: "local", health: { engineVersion: "llama.cpp v0.5.0" } },
    ],
    calibration: { source: "server-tokenize", overhead: 1, words: 256, detail: "" },
    results: [
      {
        workload,
        runtime: "llamacpp",
        run: { interrupted: false, sent: 10, notSent: 0, queued: 0, windowStartMs: 0, windowEndMs: 1000 },
        metrics: {
          counts: { total: 10, ok: 10, errored: 0, incomplete: 0 },
          inputTokenThroughput: input,
          outputTokenThroughput: output,
          requestThroughput: 2,
          ttftMs: { count: 10, mean: 7, stdev: 1, p50: 6.5, p90: 8, p95: 9, p99: 10, max: 11, min: 5 },
        } as never,
      },
    ],
    sweeps: [],
    warnings: [],
    files: { requests: "requests.jsonl", vllm: [] },
  };
}

function writeResult(r: BenchResult): string {
  const d = join(dir, "results", r.id);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, "result.json"), JSON.stringify(r));
  return d;
}

const site = (out: string) =>
  JSON.parse(readFileSync(join(out, "benchmark-results.json"), "utf8")) as SiteData;

describe("tokenforge publish", () => {
  it("writes the three files with prefill/decode tokens/s and costs from the profile", () => {
    const out = join(dir, "site1");
    writeResult(result("r1", "2026-11-01T00:00:00Z", 1000, 250));
    const cost = { ...costProfile({ dollars_per_hour: 3.6 }), source: "cloud.yaml" };
    publish({ results: [join(dir, "results")], outDir: out, history: 10, cost });
    const s = site(out);
    expect(s.schema).toBe(SITE_SCHEMA);
    expect(s.entries).toHaveLength(1);
    const e = s.entries[0]!;
    expect(e).toMatchObject({
      key: "synthetic:tiny | llama.cpp v0.5.0",
      prefillTokensPerS: 1000,
      decodeTokensPerS: 250,
    });
    // $3.6/h × 1e6 / (250 tok/s × 3600) = $4 per 1M output tokens; input: $1.
    expect(e.cost!.per1MOutput).toBeCloseTo(4, 12);
    expect(e.cost!.per1MInput).toBeCloseTo(1, 12);
    const index = readFileSync(join(out, "index.html"), "utf8");
    expect(index).toContain("$4.00");
    expect(index).toContain("$3.6000 per hour");
    expect(existsSync(join(out, "benchmark-results.html"))).toBe(true);
  });

  it("recomputes every cost when published again with a new price, and shows the arithmetic", () => {
    const out = join(dir, "site2");
    const runDir = writeResult(result("r2", "2026-11-02T00:00:00Z", 2000, 500));
    publish({
      results: [runDir],
      outDir: out,
      history: 10,
      cost: { ...costProfile({ dollars_per_hour: 1.8 }), source: "a.yaml" },
    });
    expect(site(out).entries[0]!.cost!.per1MOutput).toBeCloseTo(1, 12);
    const owned = {
      ...costProfile({
        price: 30000,
        amortization_years: 3,
        utilization: 0.5,
        power_watts: 700,
        dollars_per_kwh: 0.2,
      }),
      source: "owned.yaml",
    };
    // No new results: the same entries, priced again.
    publish({ results: [runDir], outDir: out, history: 10, cost: owned });
    const dollarsPerHour = 30000 / (3 * 8760 * 0.5) + 0.7 * 0.2;
    expect(site(out).entries[0]!.cost!.per1MOutput).toBeCloseTo(costPer1M(dollarsPerHour, 500)!, 12);
    const html = readFileSync(join(out, "index.html"), "utf8");
    expect(html).toContain("$30000 / (3 years × 8760 h × 0.5 utilization)");
    expect(html).toContain("700 W / 1000 × $0.2/kWh");
  });

  it("keeps the last N runs per model and engine, newest first, across publishes", () => {
    const out = join(dir, "site3");
    for (let i = 1; i <= 4; i++) {
      publish({
        results: [writeResult(result(`h${i}`, `2026-11-1${i}T00:00:00Z`, 100 * i, 10 * i))],
        outDir: out,
        history: 3,
      });
    }
    const s = site(out);
    expect(s.entries.map((e) => e.runId)).toEqual(["h4", "h3", "h2"]);
    expect(s.entries.every((e) => e.cost === undefined)).toBe(true);
    expect(readFileSync(join(out, "index.html"), "utf8")).toContain(
      "publish with <code>--cost PROFILE</code>",
    );
  });

  it("escapes names so they cannot break out of the page or its embedded JSON", () => {
    const out = join(dir, "site4");
    const evil = "</script><script>alert(1)</script><!--";
    publish({
      results: [writeResult(result("x1", "2026-11-20T00:00:00Z", 10, 10, evil))],
      outDir: out,
      history: 3,
    });
    const html = readFileSync(join(out, "benchmark-results.html"), "utf8");
    expect(html).not.toContain("<script>alert(1)");
    expect(html.match(/<\/script>/g)).toHaveLength(1);
    const json = html.match(
      /<script type="application\/json" id="tokenforge-site-data">(.*)<\/script>/s,
    )![1]!;
    expect((JSON.parse(json) as SiteData).entries[0]!.workload).toBe(evil);
  });

  it("refuses a file that is not a TokenForge result, naming it", () => {
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ schema: "other" }));
    expect(() => publish({ results: [bad], outDir: join(dir, "site5"), history: 3 })).toThrow(
      /bad\.json is not a TokenForge result/,
    );
    expect(existsSync(join(dir, "site5"))).toBe(false);
  });
});
