/**
 * Compares two harness result files metric by metric, with an estimate of each metric's noise, so
 * that a change is called better or worse only when it is both larger than the threshold and
 * larger than twice the noise. The method is documented in docs/metrics.md ("Comparing runs").
 *
 * Only `results[].workload`, `results[].runtime` and `results[].metrics` (a WorkloadMetrics) of a
 * result file are read.
 */
import { readFile } from "node:fs/promises";
import type { WorkloadMetrics } from "./metric-types.js";
import type { Summary } from "./stats.js";

export const RESULT_SCHEMA_PREFIX = "tokenforge.bench.result/";
/** Default relative noise floor (%): below this a difference is never taken as real. */
export const DEFAULT_NOISE_FLOOR_PCT = 1;
/** A difference must exceed this many noise standard deviations to count. */
export const NOISE_SIGMAS = 2;

export interface ResultRow {
  workload: string;
  runtime: string;
  metrics: WorkloadMetrics;
}

export interface ResultFile {
  results: ResultRow[];
}

export type Direction = "lower" | "higher";
/**
 * - better / worse: the change exceeds the threshold and twice the noise, in the good / bad direction.
 * - within noise: the change is not larger than twice the noise (or the noise floor).
 * - within threshold: larger than the noise but not than the threshold.
 * - missing: one side has no value (absent metric, or no SLO / no cost configured).
 */
export type Verdict = "better" | "worse" | "within noise" | "within threshold" | "missing";

export interface MetricComparison {
  key: string;
  label: string;
  unit: string;
  /** Which direction is an improvement. */
  better: Direction;
  a?: number;
  b?: number;
  /** (b − a) / |a| × 100; absent when either value is absent or a is 0 with b ≠ 0. */
  changePct?: number;
  /** One standard deviation of (b − a), absolute: √(seA² + seB²) raised to the noise floor. */
  noise?: number;
  /** noise / |a| × 100. */
  noisePct?: number;
  verdict: Verdict;
}

export interface PairComparison {
  workload: string;
  runtime: string;
  metrics: MetricComparison[];
}

export interface Comparison {
  thresholdPct: number;
  noiseFloorPct: number;
  pairs: PairComparison[];
  /** (workload, runtime) results present in only one of the files. */
  onlyInA: { workload: string; runtime: string }[];
  onlyInB: { workload: string; runtime: string }[];
  regressions: number;
  improvements: number;
}

export interface CompareOptions {
  thresholdPct: number;
  noiseFloorPct?: number;
}

/** A value and its standard error (absolute), when one can be estimated. */
interface Estimate {
  value: number;
  se?: number;
}

type Stat = "mean" | "p50" | "p90" | "p95" | "p99";

/** Standard normal quantiles for the percentiles' standard errors. */
const Z: Record<Exclude<Stat, "mean">, number> = {
  p50: 0,
  p90: 1.2815515655446004,
  p95: 1.6448536269514722,
  p99: 2.3263478740408408,
};

/**
 * Multiplier of s/√n giving the standard error of a statistic of n values with sample stdev s:
 * 1 for the mean; √(p(1 − p)) / φ(z_p) for the p-quantile (its asymptotic standard error when the
 * values are normal: 1.25 for the median, 3.73 for p99).
 */
export function standardErrorFactor(stat: Stat): number {
  if (stat === "mean") return 1;
  const p = Number(stat.slice(1)) / 100;
  const z = Z[stat];
  const density = Math.exp((-z * z) / 2) / Math.sqrt(2 * Math.PI);
  return Math.sqrt(p * (1 - p)) / density;
}

function fromSummary(s: Summary | undefined, stat: Stat): Estimate | undefined {
  if (s === undefined) return undefined;
  const value = s[stat];
  if (s.count < 2) return { value };
  return { value, se: (standardErrorFactor(stat) * s.stdev) / Math.sqrt(s.count) };
}

/** A rate whose numerator counts n independent events: relative standard error 1/√n (Poisson). */
function fromRate(value: number | undefined, events: number): Estimate | undefined {
  if (value === undefined) return undefined;
  return events > 0 ? { value, se: value / Math.sqrt(events) } : { value };
}

interface KeyMetric {
  key: string;
  label: string;
  unit: string;
  better: Direction;
  get(m: WorkloadMetrics): Estimate | undefined;
}

export const KEY_METRICS: readonly KeyMetric[] = [
  {
    key: "ttft_p50",
    label: "TTFT p50",
    unit: "ms",
    better: "lower",
    get: (m) => fromSummary(m.ttftMs, "p50"),
  },
  {
    key: "ttft_p99",
    label: "TTFT p99",
    unit: "ms",
    better: "lower",
    get: (m) => fromSummary(m.ttftMs, "p99"),
  },
  {
    key: "tpot_p50",
    label: "TPOT p50",
    unit: "ms",
    better: "lower",
    get: (m) => fromSummary(m.tpotMs, "p50"),
  },
  {
    key: "tpot_p99",
    label: "TPOT p99",
    unit: "ms",
    better: "lower",
    get: (m) => fromSummary(m.tpotMs, "p99"),
  },
  { key: "itl_p50", label: "ITL p50", unit: "ms", better: "lower", get: (m) => fromSummary(m.itlMs, "p50") },
  { key: "e2e_p50", label: "E2E p50", unit: "ms", better: "lower", get: (m) => fromSummary(m.e2eMs, "p50") },
  { key: "e2e_p99", label: "E2E p99", unit: "ms", better: "lower", get: (m) => fromSummary(m.e2eMs, "p99") },
  {
    key: "request_throughput",
    label: "request throughput",
    unit: "req/s",
    better: "higher",
    get: (m) => fromRate(m.requestThroughput, m.counts.ok),
  },
  {
    key: "output_throughput",
    label: "output token throughput",
    unit: "tok/s",
    better: "higher",
    get: (m) => fromRate(m.outputTokenThroughput, m.counts.ok),
  },
  {
    key: "goodput",
    label: "goodput",
    unit: "req/s",
    better: "higher",
    get: (m) => fromRate(m.goodput?.requestsPerS, m.goodput?.met ?? 0),
  },
];

export function compareMetric(
  km: Pick<KeyMetric, "key" | "label" | "unit" | "better">,
  ea: Estimate | undefined,
  eb: Estimate | undefined,
  opts: CompareOptions,
): MetricComparison {
  const out: MetricComparison = {
    key: km.key,
    label: km.label,
    unit: km.unit,
    better: km.better,
    verdict: "missing",
  };
  if (ea !== undefined) out.a = ea.value;
  if (eb !== undefined) out.b = eb.value;
  if (ea === undefined || eb === undefined) return out;
  const a = ea.value;
  const b = eb.value;
  const diff = b - a;
  if (a !== 0) out.changePct = (diff / Math.abs(a)) * 100;
  else if (diff === 0) out.changePct = 0;

  const ses = [ea.se, eb.se].filter((x): x is number => x !== undefined);
  const combined = ses.length > 0 ? Math.sqrt(ses.reduce((s, x) => s + x * x, 0)) : 0;
  const floor = ((opts.noiseFloorPct ?? DEFAULT_NOISE_FLOOR_PCT) / 100) * Math.abs(a);
  const noise = Math.max(combined, floor);
  out.noise = noise;
  if (a !== 0) out.noisePct = (noise / Math.abs(a)) * 100;

  const pastNoise = Math.abs(diff) > NOISE_SIGMAS * noise;
  const pastThreshold =
    out.changePct === undefined ? diff !== 0 : Math.abs(out.changePct) > opts.thresholdPct;
  if (!pastNoise) out.verdict = "within noise";
  else if (!pastThreshold) out.verdict = "within threshold";
  else out.verdict = diff < 0 === (km.better === "lower") ? "better" : "worse";
  return out;
}

/** Matches results by (workload, runtime); repeated pairs match in order of appearance. */
export function compareResults(a: ResultFile, b: ResultFile, opts: CompareOptions): Comparison {
  const key = (r: ResultRow): string => JSON.stringify([r.workload, r.runtime]);
  const bByKey = new Map<string, ResultRow[]>();
  for (const r of b.results) {
    const list = bByKey.get(key(r));
    if (list === undefined) bByKey.set(key(r), [r]);
    else list.push(r);
  }
  const pairs: PairComparison[] = [];
  const onlyInA: Comparison["onlyInA"] = [];
  for (const ra of a.results) {
    const rb = bByKey.get(key(ra))?.shift();
    if (rb === undefined) {
      onlyInA.push({ workload: ra.workload, runtime: ra.runtime });
      continue;
    }
    pairs.push({
      workload: ra.workload,
      runtime: ra.runtime,
      metrics: KEY_METRICS.map((km) => compareMetric(km, km.get(ra.metrics), km.get(rb.metrics), opts)),
    });
  }
  const onlyInB = [...bByKey.values()].flat().map((r) => ({ workload: r.workload, runtime: r.runtime }));
  let regressions = 0;
  let improvements = 0;
  for (const p of pairs) {
    for (const m of p.metrics) {
      if (m.verdict === "worse") regressions++;
      else if (m.verdict === "better") improvements++;
    }
  }
  return {
    thresholdPct: opts.thresholdPct,
    noiseFloorPct: opts.noiseFloorPct ?? DEFAULT_NOISE_FLOOR_PCT,
    pairs,
    onlyInA,
    onlyInB,
    regressions,
    improvements,
  };
}

/** A result file that cannot be compared; the message names the file and the problem. */
export class ResultFileError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = "ResultFileError";
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const SUMMARY_FIELDS = ["ttftMs", "tpotMs", "itlMs", "e2eMs"] as const;
const SUMMARY_NUMBERS = ["count", "stdev", "mean", "p50", "p99"] as const;
const RATE_FIELDS = ["requestThroughput", "outputTokenThroughput"] as const;

/** Checks the parts of a parsed result file that comparing reads; throws ResultFileError. */
export function validateResultFile(value: unknown, file: string): ResultFile {
  const fail = (problem: string): never => {
    throw new ResultFileError(file, problem);
  };
  if (!isObject(value)) return fail("expected a JSON object with a `results` array");
  if (value.schema !== undefined) {
    if (typeof value.schema !== "string" || !value.schema.startsWith(RESULT_SCHEMA_PREFIX)) {
      fail(`schema: expected "${RESULT_SCHEMA_PREFIX}v1", got ${JSON.stringify(value.schema)}`);
    }
  }
  const results = value.results;
  if (!Array.isArray(results)) return fail("results: expected an array");
  for (const [i, r] of (results as unknown[]).entries()) {
    const at = `results[${i}]`;
    if (!isObject(r)) return fail(`${at}: expected an object`);
    if (typeof r.workload !== "string") fail(`${at}.workload: expected a string`);
    if (typeof r.runtime !== "string") fail(`${at}.runtime: expected a string`);
    const m = r.metrics;
    if (!isObject(m)) return fail(`${at}.metrics: expected an object`);
    const counts = m.counts;
    if (!isObject(counts) || typeof counts.ok !== "number")
      fail(`${at}.metrics.counts.ok: expected a number`);
    for (const f of SUMMARY_FIELDS) {
      const s = m[f];
      if (s === undefined || s === null) continue;
      if (!isObject(s)) fail(`${at}.metrics.${f}: expected a summary object`);
      for (const n of SUMMARY_NUMBERS) {
        if (typeof (s as Record<string, unknown>)[n] !== "number")
          fail(`${at}.metrics.${f}.${n}: expected a number`);
      }
    }
    for (const f of RATE_FIELDS) {
      if (m[f] !== undefined && m[f] !== null && typeof m[f] !== "number") {
        fail(`${at}.metrics.${f}: expected a number`);
      }
    }
    const g = m.goodput;
    if (g !== undefined && g !== null && (!isObject(g) || typeof g.met !== "number")) {
      fail(`${at}.metrics.goodput.met: expected a number`);
    }
  }
  // null (from a foreign writer) reads as absent, like undefined dropped by JSON.stringify.
  return JSON.parse(JSON.stringify(value), (_k, v) => (v === null ? undefined : v)) as ResultFile;
}

/** Reads and validates a result file; throws ResultFileError naming the file and the problem. */
export async function readResultFile(path: string): Promise<ResultFile> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ResultFileError(path, `cannot read (${code ?? (err as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ResultFileError(path, `not valid JSON (${(err as Error).message})`);
  }
  return validateResultFile(parsed, path);
}
