/**
 * Comparing two result files: the noise estimate, the verdicts in both directions, the table, and
 * `tokenforge compare`'s exit codes (0 no regression, 1 regression, 2 bad input).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { aggregate } from "../../src/bench/aggregate.js";
import {
  compareMetric,
  compareResults,
  type ResultFile,
  standardErrorFactor,
  validateResultFile,
} from "../../src/bench/compare.js";
import type { WorkloadMetrics } from "../../src/bench/metric-types.js";
import type { Summary } from "../../src/bench/stats.js";
import { renderComparison, renderTable } from "../../src/bench/table.js";
import { registerCompareCommand, runCompare } from "../../src/cli/compare.js";

function summary(p50: number, stdev: number, count: number, p99 = p50 * 2): Summary {
  return { count, mean: p50, stdev, p50, p90: p99, p95: p99, p99, max: p99, min: 0 };
}

function metrics(over: Partial<WorkloadMetrics> = {}): WorkloadMetrics {
  return { ...aggregate([], { slo: {} }), ...over };
}

function resultFile(rows: { workload: string; runtime: string; metrics: WorkloadMetrics }[]): ResultFile {
  return { schema: "tokenforge.bench.result/v1", results: rows } as ResultFile;
}

const ttft = { key: "ttft_p50", label: "TTFT p50", unit: "ms", better: "lower" as const };
const rps = { key: "request_throughput", label: "req", unit: "req/s", better: "higher" as const };

describe("noise and verdicts", () => {
  it("uses the normal-approximation standard error of each statistic", () => {
    expect(standardErrorFactor("mean")).toBe(1);
    expect(standardErrorFactor("p50")).toBeCloseTo(Math.sqrt(Math.PI / 2), 10);
    expect(standardErrorFactor("p90")).toBeCloseTo(1.7094, 4);
    expect(standardErrorFactor("p99")).toBeCloseTo(3.7332, 4);
  });

  it("calls a latency change worse only past both the threshold and twice the noise", () => {
    // se of each p50 = 1.2533 × 10 / √100 = 1.2533; combined √2 × 1.2533 = 1.7725; 2× = 3.545.
    const se = standardErrorFactor("p50");
    const a = { value: 100, se };
    const opts = { thresholdPct: 5 };
    const worse = compareMetric(ttft, a, { value: 110, se }, opts);
    expect(worse.verdict).toBe("worse");
    expect(worse.changePct).toBeCloseTo(10, 10);
    expect(worse.noise).toBeCloseTo(Math.SQRT2 * se, 10);
    expect(worse.noisePct).toBeCloseTo(Math.SQRT2 * se, 10);
    expect(compareMetric(ttft, a, { value: 90, se }, opts).verdict).toBe("better");
    expect(compareMetric(ttft, a, { value: 103, se }, opts).verdict).toBe("within noise");
    // 4 > 3.545 is past the noise but 4% is under the 5% threshold.
    expect(compareMetric(ttft, a, { value: 104, se }, opts).verdict).toBe("within threshold");
    // A wide distribution hides even a 10% change.
    expect(compareMetric(ttft, { value: 100, se: 5 }, { value: 110, se: 5 }, opts).verdict).toBe(
      "within noise",
    );
  });

  it("falls back to the relative noise floor when no standard error is known", () => {
    const opts = { thresholdPct: 0.5, noiseFloorPct: 1 };
    const c = compareMetric(ttft, { value: 100 }, { value: 101.5 }, opts);
    expect(c.noise).toBeCloseTo(1, 12);
    expect(c.verdict).toBe("within noise");
    expect(compareMetric(ttft, { value: 100 }, { value: 103 }, opts).verdict).toBe("worse");
  });

  it("knows that more throughput is better and treats a missing side as missing", () => {
    const opts = { thresholdPct: 5 };
    expect(compareMetric(rps, { value: 10, se: 0.1 }, { value: 12, se: 0.12 }, opts).verdict).toBe("better");
    expect(compareMetric(rps, { value: 10, se: 0.1 }, { value: 8, se: 0.08 }, opts).verdict).toBe("worse");
    const missing = compareMetric(rps, { value: 10 }, undefined, opts);
    expect(missing).toMatchObject({ verdict: "missing", a: 10 });
    expect(missing.b).toBeUndefined();
  });
});

describe("compareResults", () => {
  const base = metrics({
    counts: { total: 100, ok: 100, errored: 0, incomplete: 0 },
    ttftMs: summary(100, 10, 100, 200),
    tpotMs: summary(20, 1, 100),
    itlMs: summary(20, 1, 10_000),
    e2eMs: summary(1000, 50, 100),
    requestThroughput: 10,
    outputTokenThroughput: 1000,
  });

  it("matches results by workload and runtime and gives every key metric a verdict", () => {
    const slower = { ...base, ttftMs: summary(150, 10, 100, 300) };
    const a = resultFile([
      { workload: "chat", runtime: "llamacpp", metrics: base },
      { workload: "only-a", runtime: "llamacpp", metrics: base },
    ]);
    const b = resultFile([
      { workload: "chat", runtime: "llamacpp", metrics: slower },
      { workload: "only-b", runtime: "vllm", metrics: base },
    ]);
    const cmp = compareResults(a, b, { thresholdPct: 5 });
    expect(cmp.pairs).toHaveLength(1);
    const byKey = Object.fromEntries(cmp.pairs[0]!.metrics.map((m) => [m.key, m]));
    expect(Object.keys(byKey)).toEqual([
      "ttft_p50",
      "ttft_p99",
      "tpot_p50",
      "tpot_p99",
      "itl_p50",
      "e2e_p50",
      "e2e_p99",
      "request_throughput",
      "output_throughput",
      "goodput",
    ]);
    expect(byKey.ttft_p50).toMatchObject({ a: 100, b: 150, verdict: "worse" });
    expect(byKey.ttft_p50!.changePct).toBeCloseTo(50, 10);
    expect(byKey.ttft_p99).toMatchObject({ a: 200, b: 300, verdict: "worse" });
    expect(byKey.tpot_p50!.verdict).toBe("within noise");
    expect(byKey.request_throughput!.verdict).toBe("within noise");
    expect(byKey.goodput!.verdict).toBe("missing");
    expect(cmp.regressions).toBe(2);
    expect(cmp.improvements).toBe(0);
    expect(cmp.onlyInA).toEqual([{ workload: "only-a", runtime: "llamacpp" }]);
    expect(cmp.onlyInB).toEqual([{ workload: "only-b", runtime: "vllm" }]);

    const text = renderComparison(cmp);
    expect(text).toContain("TTFT p50 (ms)");
    expect(text).toMatch(/TTFT p50 \(ms\)\s+100\.0\s+150\.0\s+\+50\.0%\s+±1\.8%\s+worse/);
    expect(text).toContain("only in A: only-a / llamacpp");
    expect(text).toContain("2 regression(s), 0 improvement(s)");
    expect(text).not.toContain("\x1b[");
    expect(renderComparison(cmp, { color: true })).toContain("\x1b[31mworse");
  });

  it("validates the fields it reads and names the problem", () => {
    expect(() => validateResultFile([], "a.json")).toThrow("a.json: expected a JSON object");
    expect(() => validateResultFile({ results: {} }, "a.json")).toThrow("a.json: results: expected an array");
    expect(() => validateResultFile({ schema: "other/v1", results: [] }, "a.json")).toThrow(
      "a.json: schema:",
    );
    expect(() => validateResultFile({ results: [{ workload: "w", runtime: "r" }] }, "a.json")).toThrow(
      "a.json: results[0].metrics: expected an object",
    );
    const badSummary = { workload: "w", runtime: "r", metrics: { ...base, ttftMs: { count: 3 } } };
    expect(() => validateResultFile({ results: [badSummary] }, "b.json")).toThrow(
      "b.json: results[0].metrics.ttftMs.stdev: expected a number",
    );
    // null reads as absent.
    const withNull = { results: [{ workload: "w", runtime: "r", metrics: { ...base, tpotMs: null } }] };
    expect(validateResultFile(withNull, "c.json").results[0]!.metrics.tpotMs).toBeUndefined();
  });
});

describe("renderTable", () => {
  it("aligns one row per workload × runtime with units and – for absent values", () => {
    const m = aggregate(
      [
        {
          index: 0,
          warmup: false,
          scheduledMs: 0,
          sendMs: 0,
          chunkMs: [100, 120],
          endMs: 140,
          outcome: "ok",
          promptTokens: 10,
          maxTokens: 2,
          usage: { promptTokens: 10, completionTokens: 2 },
        },
      ],
      { slo: { ttftMs: 200 }, cost: { dollarsPerHour: 1, breakdown: {} } },
    );
    const text = renderTable([
      { workload: "chat", runtime: "llamacpp", metrics: m },
      { workload: "empty", runtime: "vllm", metrics: metrics() },
    ]);
    const lines = text.split("\n");
    expect(lines[0]).toMatch(/^workload\s+runtime\s+ok\/err\s+req\/s\s+out tok\/s\s+TTFT p50 \(ms\)/);
    expect(lines[0]).toContain("goodput (req/s)");
    expect(lines[0]).toContain("$/1M out");
    // 1 request in 0.14 s: 7.14 req/s, 14.3 out tok/s, TTFT 100 ms, TPOT 40 ms, ITL 20 ms, E2E 140 ms,
    // $1/h × 1e6 / (14.29 × 3600) = $19.44 per 1M output tokens.
    expect(lines[1]).toMatch(
      /^chat\s+llamacpp\s+1\/0\s+7\.14\s+14\.29\s+100\.0\s+100\.0\s+40\.00\s+40\.00\s+20\.00\s+140\.0\s+140\.0\s+7\.14 \(100%\)\s+\$19\.44$/,
    );
    expect(lines[2]).toMatch(/^empty\s+vllm\s+0\/0(\s+–){11}$/);
    // Columns line up: every row is as wide as the header up to the last column.
    expect(lines[1]!.indexOf("llamacpp")).toBe(lines[0]!.indexOf("runtime"));
  });

  it("marks rows with warnings and lists them", () => {
    const m = metrics({ warnings: ["client lag p99 3 ms > 1 ms"] });
    const text = renderTable([{ workload: "w", runtime: "r", metrics: m }]);
    expect(text).toContain("w *");
    expect(text).toContain("* w / r: client lag p99 3 ms > 1 ms");
  });
});

describe("tokenforge compare", () => {
  const dir = mkdtempSync(join(tmpdir(), "tf-compare-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(() => {
    process.exitCode = undefined;
    vi.restoreAllMocks();
  });

  const base = metrics({
    counts: { total: 1000, ok: 1000, errored: 0, incomplete: 0 },
    ttftMs: summary(100, 5, 1000, 150),
    e2eMs: summary(1000, 20, 1000, 1100),
    requestThroughput: 10,
  });
  function write(name: string, value: unknown): string {
    const path = join(dir, name);
    writeFileSync(path, typeof value === "string" ? value : JSON.stringify(value));
    return path;
  }
  const baseline = write("a.json", resultFile([{ workload: "chat", runtime: "llamacpp", metrics: base }]));
  const same = write("same.json", resultFile([{ workload: "chat", runtime: "llamacpp", metrics: base }]));
  const slower = write(
    "slower.json",
    resultFile([
      { workload: "chat", runtime: "llamacpp", metrics: { ...base, ttftMs: summary(120, 5, 1000, 180) } },
    ]),
  );
  const faster = write(
    "faster.json",
    resultFile([
      { workload: "chat", runtime: "llamacpp", metrics: { ...base, ttftMs: summary(80, 5, 1000, 120) } },
    ]),
  );

  async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = "";
    let err = "";
    vi.spyOn(process.stdout, "write").mockImplementation((s: string | Uint8Array) => {
      out += String(s);
      return true;
    });
    vi.spyOn(process.stderr, "write").mockImplementation((s: string | Uint8Array) => {
      err += String(s);
      return true;
    });
    const program = new Command("tokenforge").exitOverride();
    registerCompareCommand(program);
    await program.parseAsync(["compare", ...args], { from: "user" });
    const code = Number(process.exitCode ?? 0);
    vi.restoreAllMocks();
    return { code, out, err };
  }

  it("exits 0 when nothing regressed", async () => {
    const r = await cli(baseline, same);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`A: ${baseline}`);
    expect(r.out).toContain("0 regression(s), 0 improvement(s)");
    expect((await cli(baseline, faster)).code).toBe(0);
  });

  it("exits 1 when a metric regressed past the threshold, and prints JSON with --json", async () => {
    const r = await cli(baseline, slower);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/TTFT p50 \(ms\).*\+20\.0%.*worse/);
    expect((await cli(baseline, slower, "--threshold", "25")).code).toBe(0);
    const j = await cli(baseline, slower, "--json");
    expect(j.code).toBe(1);
    const parsed = JSON.parse(j.out);
    expect(parsed).toMatchObject({ a: baseline, b: slower, thresholdPct: 5, regressions: 2 });
    expect(parsed.pairs[0].metrics[0]).toMatchObject({ key: "ttft_p50", a: 100, b: 120, verdict: "worse" });
  });

  it("exits 2 naming the file and the problem for unreadable or invalid files", async () => {
    const missing = join(dir, "missing.json");
    const r1 = await cli(baseline, missing);
    expect(r1.code).toBe(2);
    expect(r1.err).toBe(`error: ${missing}: cannot read (ENOENT)\n`);

    const garbage = write("garbage.json", "{ not json");
    const r2 = await cli(garbage, baseline);
    expect(r2.code).toBe(2);
    expect(r2.err).toContain(`error: ${garbage}: not valid JSON`);

    const wrong = write("wrong.json", { results: [{ workload: "chat", runtime: 3, metrics: {} }] });
    const r3 = await cli(baseline, wrong);
    expect(r3.code).toBe(2);
    expect(r3.err).toBe(`error: ${wrong}: results[0].runtime: expected a string\n`);

    const r4 = await cli(baseline, same, "--threshold", "five");
    expect(r4.code).toBe(2);
    expect(r4.err).toContain('--threshold: expected a non-negative number (percent), got "five"');
  });

  it("returns the exit code from runCompare for callers without commander", async () => {
    const io = { stdout: { write: () => true }, stderr: { write: () => true } };
    expect(await runCompare(baseline, slower, {}, io)).toBe(1);
    expect(await runCompare(baseline, same, {}, io)).toBe(0);
  });
});
