/**
 * The report's data from a hand-built result and its traces: exact CDF points, per-second bins,
 * the downsampling that bounds a report's size, and the checks on the input files.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { aggregate } from "../../src/bench/aggregate.js";
import { ResultFileError } from "../../src/bench/compare.js";
import type { RequestTrace } from "../../src/bench/types.js";
import { cdfCurve } from "../../src/report/cdf.js";
import { loadReportData } from "../../src/report/data.js";
import { Timeline } from "../../src/report/timeline.js";

const dir = mkdtempSync(join(tmpdir(), "tokenforge-report-data-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function trace(over: Partial<RequestTrace> & Pick<RequestTrace, "index" | "sendMs">): RequestTrace {
  return {
    warmup: false,
    scheduledMs: over.sendMs,
    chunkMs: [],
    outcome: "ok",
    promptTokens: 4,
    maxTokens: 3,
    ...over,
  };
}

/**
 * Runtime "a": a warmup request, then four measured ones from t = 1000 ms (the window start, so
 * the timeline's origin): ok (TTFT 10, E2E 30, 3 tokens), ok (TTFT 20, E2E 1100, 2 tokens), an
 * error, and ok with one token (no TPOT, no gap).
 */
const A: RequestTrace[] = [
  trace({ index: 0, warmup: true, sendMs: 0, chunkMs: [10, 20], endMs: 21, usage: u(2) }),
  trace({ index: 1, sendMs: 1000, chunkMs: [1010, 1015, 1025], endMs: 1030, usage: u(3) }),
  trace({ index: 2, sendMs: 1500, chunkMs: [1520, 1524], endMs: 2600, usage: u(2) }),
  trace({ index: 3, sendMs: 2200, endMs: 2210, outcome: "error", status: 500, error: "boom" }),
  trace({ index: 4, sendMs: 3100, chunkMs: [3130], endMs: 3140, usage: u(1) }),
];
/** Runtime "b": two ok requests. */
const B: RequestTrace[] = [
  trace({ index: 0, sendMs: 50, chunkMs: [55, 57], endMs: 60, usage: u(2) }),
  trace({ index: 1, sendMs: 70, chunkMs: [72, 76], endMs: 80, usage: u(2) }),
];

function u(completionTokens: number) {
  return { promptTokens: 4, completionTokens };
}

function writeRun(name: string, lines: [string, RequestTrace][] | undefined): string {
  const runDir = join(dir, name);
  const result = {
    schema: "tokenforge.bench.result/v1",
    id: name,
    status: "complete",
    startedAt: "2026-01-01T00:00:00.000Z",
    finishedAt: "2026-01-01T00:00:04.000Z",
    seed: 1,
    config: { model: "m", runtimes: ["a", "b"], targets: {}, workloads: [], seed: 1 },
    results: [
      { workload: "w", runtime: "a", metrics: aggregate(A, { slo: { ttftMs: 15 } }), run: {} },
      { workload: "w", runtime: "b", metrics: aggregate(B, { slo: { ttftMs: 15 } }), run: {} },
    ],
    sweeps: [],
    warnings: ["a warning"],
    files: { requests: "requests.jsonl", vllm: [] },
  };
  rmSync(runDir, { recursive: true, force: true });
  mkdirSync(runDir, { recursive: true });
  writeFileSync(join(runDir, "result.json"), JSON.stringify(result));
  if (lines !== undefined) {
    const text = lines.map(([rt, t]) => JSON.stringify({ workload: "w", runtime: rt, ...t })).join("\n");
    writeFileSync(join(runDir, "requests.jsonl"), `${text}\n`);
  }
  return join(runDir, "result.json");
}

const third = (n: number) => Math.round((n / 3) * 1e4) / 1e4;

function expectExact(file: string) {
  const data = loadReportData(file);
  expect(data.traces).toMatchObject({ found: true, lines: 7, unmatched: 0 });
  const [a, b] = data.workloads[0]!.runtimes;
  expect(a!.curves).toEqual({
    ttft: { x: [10, 20, 30], y: [third(1), third(2), 1], count: 3 },
    e2e: { x: [30, 40, 1100], y: [third(1), third(2), 1], count: 3 },
    // (30 − 10) / (3 − 1) and (1100 − 20) / (2 − 1); the one-token request has no TPOT.
    tpot: { x: [10, 1080], y: [0.5, 1], count: 2 },
    itl: { x: [4, 5, 10], y: [third(1), third(2), 1], count: 3 },
  });
  // Seconds from the first measured send (1000 ms): sends at 0, 500, 1200, 2100 ms; ends at 30,
  // 1600, 1210 (the error), 2140 ms.
  expect(a!.timeline).toEqual({
    binS: 1,
    t: [0, 1, 2],
    sent: [2, 1, 1],
    completed: [1, 1, 1],
    failed: [0, 1, 0],
    // [0, 30) + [500, 1000) = 530 ms; [1000, 1600) + [1200, 1210) = 610 ms; [2100, 2140) = 40 ms.
    inFlight: [0.53, 0.61, 0.04],
  });
  expect(b!.curves).toEqual({
    ttft: { x: [2, 5], y: [0.5, 1], count: 2 },
    e2e: { x: [10, 10], y: [0.5, 1], count: 2 },
    tpot: { x: [5, 8], y: [0.5, 1], count: 2 },
    itl: { x: [2, 4], y: [0.5, 1], count: 2 },
  });
  expect(b!.timeline).toMatchObject({ sent: [2], completed: [2], failed: [0], inFlight: [0.02] });
  return data;
}

describe("report data", () => {
  it("reduces the traces to exact CDF points and per-second bins, warmup left out", () => {
    const file = writeRun("contiguous", [
      ...A.map((t): [string, RequestTrace] => ["a", t]),
      ...B.map((t): [string, RequestTrace] => ["b", t]),
    ]);
    const data = expectExact(file);
    expect(data.run).toMatchObject({ id: "contiguous", status: "complete", model: "m", seed: 1 });
    expect(data.warnings).toEqual(["a warning"]);
    expect(data.rows.map((r) => [r.workload, r.runtime, r.ok, r.errored, r.incomplete])).toEqual([
      ["w", "a", 3, 1, 0],
      ["w", "b", 2, 0, 0],
    ]);
    const a = data.rows[0]!;
    // The summary is the result's own figures: TTFT p50 of 10, 20, 30 is 20.
    expect(a.ttftP50).toBe(20);
    expect(a.goodputFraction).toBe(0.25);
    expect(a.costPer1MInput).toBeUndefined();
    expect(data.workloads[0]!.runtimes[0]!.ttft).toEqual({ p50: 20, p90: 28, p95: 29, p99: 29.8 });
    expect(data.workloads[0]!.runtimes[0]!.errorSamples).toEqual([
      { outcome: "error", status: 500, error: "boom", count: 1 },
    ]);
  });

  it("gives the same exact curves when a group's lines are not contiguous", () => {
    const [w, a1, a2, a3, a4] = A.map((t): [string, RequestTrace] => ["a", t]);
    const [b1, b2] = B.map((t): [string, RequestTrace] => ["b", t]);
    expectExact(writeRun("interleaved", [w!, a1!, b1!, a2!, a3!, a4!, b2!]));
  });

  it("renders without per-request data when requests.jsonl is missing, and says so", () => {
    const data = loadReportData(writeRun("no-traces", undefined));
    expect(data.traces.found).toBe(false);
    expect(data.traces.file).toBe(join(dir, "no-traces", "requests.jsonl"));
    const r = data.workloads[0]!.runtimes[0]!;
    expect(r.curves).toBeUndefined();
    expect(r.timeline).toBeUndefined();
    expect(r.tpot?.p50).toBe(545);
  });

  it("counts trace lines of workloads the result does not list", () => {
    const file = writeRun("unmatched", [["a", A[1]!]]);
    writeFileSync(
      join(dir, "unmatched", "requests.jsonl"),
      `${JSON.stringify({ workload: "w", runtime: "a", ...A[1] })}\n${JSON.stringify({ workload: "x", runtime: "a", ...A[1] })}\n`,
    );
    expect(loadReportData(file).traces).toMatchObject({ lines: 2, unmatched: 1 });
  });

  it("names the file and the problem of a bad input", () => {
    const problem = (f: () => unknown): string => {
      try {
        f();
      } catch (err) {
        expect(err).toBeInstanceOf(ResultFileError);
        return (err as Error).message;
      }
      throw new Error("did not throw");
    };
    const missing = join(dir, "nope", "result.json");
    expect(problem(() => loadReportData(missing))).toBe(`${missing}: cannot read (ENOENT)`);
    const bad = join(dir, "bad.json");
    writeFileSync(bad, "{not json");
    expect(problem(() => loadReportData(bad))).toMatch(/bad\.json: not valid JSON/);
    writeFileSync(bad, JSON.stringify({ results: [] }));
    expect(problem(() => loadReportData(bad))).toMatch(/bad\.json: schema: missing/);
    writeFileSync(bad, JSON.stringify({ schema: "tokenforge.bench.result/v1", results: [{ workload: 1 }] }));
    expect(problem(() => loadReportData(bad))).toMatch(
      /bad\.json: results\[0\]\.workload: expected a string/,
    );

    const file = writeRun("bad-trace", [["a", A[1]!]]);
    writeFileSync(
      join(dir, "bad-trace", "requests.jsonl"),
      `${JSON.stringify({ workload: "w", runtime: "a", ...A[1] })}\n{oops\n`,
    );
    expect(problem(() => loadReportData(file))).toMatch(/requests\.jsonl: line 2: not valid JSON/);
    writeFileSync(
      join(dir, "bad-trace", "requests.jsonl"),
      `${JSON.stringify({ workload: "w", runtime: "a" })}\n`,
    );
    expect(problem(() => loadReportData(file))).toMatch(/requests\.jsonl: line 1: sendMs: expected a number/);
  });
});

describe("downsampling", () => {
  it("keeps every point up to the limit, then evenly spaced ranks including the first and the last", () => {
    expect(cdfCurve([])).toBeUndefined();
    expect(cdfCurve([1, 2, 2, 4])).toEqual({ x: [1, 2, 2, 4], y: [0.25, 0.5, 0.75, 1], count: 4 });
    const values = Array.from({ length: 1000 }, (_, i) => i + 1);
    const c = cdfCurve(values, 200)!;
    expect(c.count).toBe(1000);
    expect(c.x).toHaveLength(200);
    expect([c.x[0], c.y[0]]).toEqual([1, 0.001]);
    expect([c.x[199], c.y[199]]).toEqual([1000, 1]);
    // Rank round(100 · 999 / 199) = 502 (0-based): value 503, cumulative fraction 0.503.
    expect([c.x[100], c.y[100]]).toEqual([503, 0.503]);
    for (let i = 1; i < 200; i++) expect(c.x[i]!).toBeGreaterThan(c.x[i - 1]!);
  });

  it("merges a long timeline into wider bins, rates still per second", () => {
    const t = new Timeline(0);
    for (const [send, end] of [
      [0, 500],
      [100, 200],
      [1500, 1600],
      [2500, 3500],
    ] as const) {
      t.add(trace({ index: 0, sendMs: send, endMs: end, chunkMs: [end] }));
    }
    // 4 one-second bins (the last request ends in second 3) merged two by two.
    expect(t.finish(2)).toEqual({
      binS: 2,
      t: [0, 2],
      sent: [1.5, 0.5],
      completed: [1.5, 0.5],
      failed: [0, 0],
      // (500 + 100 + 100) ms over 2 s; (500 + 500) ms over 2 s.
      inFlight: [0.35, 0.5],
    });
    expect(new Timeline(0).finish()).toBeUndefined();
  });
});
