/**
 * The harness's live Prometheus series against a simulated server: scraped over HTTP, they agree
 * with the run's own result (requests by outcome, TTFT and E2E counts, server token sums).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { workloadOf } from "../../src/bench/config.js";
import { BenchMetrics } from "../../src/bench/live-metrics.js";
import { runBenchmark } from "../../src/bench/run.js";
import { RuntimeRegistry } from "../../src/runtimes/registry.js";
import { startMetricsServer } from "../../src/telemetry/metrics-server.js";
import { type SimChild, startSimChild } from "../helpers/sim.js";

let sim: SimChild;
let dir: string;
beforeAll(async () => {
  sim = await startSimChild({ ttftMs: 2, itlMs: 1, errorEvery: 10, noGroundTruth: true });
  dir = mkdtempSync(join(tmpdir(), "tokenforge-live-metrics-"));
});
afterAll(async () => {
  await sim?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The value of one sample line `name{labels} value` whose labels contain every given pair. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      return Number(line.split(" ").pop());
  }
  return undefined;
}

describe("live metrics of a run", () => {
  it("count what the result counts, labelled by run, workload and runtime", async () => {
    const metrics = new BenchMetrics("run-1");
    const server = await startMetricsServer(metrics.registry);
    try {
      const result = await runBenchmark({
        config: {
          model: "sim",
          runtimes: ["sim"],
          targets: { sim: sim.url },
          workloads: [
            workloadOf({
              name: "live",
              qps: 100,
              numRequests: 40,
              warmup: { requests: 3 },
              promptLen: { kind: "fixed", value: 8 },
              genTokens: { kind: "fixed", value: 5 },
            }),
          ],
          seed: 1,
        },
        runtimes: new RuntimeRegistry([]),
        outDir: join(dir, "run"),
        metrics,
      });
      const m = result.results[0]!.metrics;
      const res = await fetch(`${server.url}/metrics`);
      expect(res.status).toBe(200);
      const text = await res.text();
      const labels = { run: "run-1", workload: "live", runtime: "sim" };
      expect(sample(text, "tokenforge_bench_requests_total", { ...labels, outcome: "ok" })).toBe(m.counts.ok);
      expect(sample(text, "tokenforge_bench_requests_total", { ...labels, outcome: "error" })).toBe(
        m.counts.errored,
      );
      expect(m.counts.errored).toBeGreaterThan(0);
      expect(sample(text, "tokenforge_bench_time_to_first_token_seconds_count", labels)).toBe(
        m.ttftMs!.count,
      );
      expect(sample(text, "tokenforge_bench_e2e_request_latency_seconds_count", labels)).toBe(m.e2eMs!.count);
      expect(sample(text, "tokenforge_bench_inter_token_latency_seconds_count", labels)).toBe(m.itlMs!.count);
      expect(sample(text, "tokenforge_bench_client_lag_seconds_count", labels)).toBe(m.counts.total);
      expect(sample(text, "tokenforge_bench_output_tokens_total", labels)).toBe(m.tokens.output);
      expect(sample(text, "tokenforge_bench_prompt_tokens_total", labels)).toBe(m.tokens.input);
      expect(sample(text, "tokenforge_bench_process_resident_memory_bytes", {})).toBeGreaterThan(0);
      expect((await fetch(`${server.url}/other`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
