/**
 * The published results site's data: one entry per (run, workload, runtime), a history of the
 * last N runs per model and engine, and every cost recomputed from the cost profile given at
 * publish time (by bench/cost.ts's formula), so publishing again with a new price updates every
 * figure.
 *
 * A cost per 1M tokens is the hardware-hour divided by the tokens made in it, so it is only as
 * meaningful as the load it was measured at: each entry says its load (`load.point`), a sweep
 * contributes its capacity point (the highest rate meeting the SLOs, else its saturating stage)
 * with its whole curve, and the headline takes capacity points before anything else.
 */
import { costPer1M } from "../bench/cost.js";
import type { PricedCost } from "../bench/cost-profile.js";
import type { WorkloadMetrics } from "../bench/metric-types.js";
import type { BenchResult, WorkloadResult } from "../bench/run.js";
import type { SweepSummary } from "../bench/sweep.js";
import type { Workload } from "../bench/types.js";
import { hardwareMismatch, type RunMachine } from "./hardware.js";

export const SITE_SCHEMA = "tokenforge.site.results/v1";

/**
 * How loaded the server was when an entry was measured. `slo-capacity`: the highest rate of a
 * sweep that met the SLOs. `saturation`: the server was kept busy (every request at once, or a
 * closed loop while the server reported requests waiting). `partial`: a load below capacity, so
 * its hardware-hour includes idle time and its cost per token is higher than the machine's.
 * `unknown`: the result does not say.
 */
export type LoadPoint = "slo-capacity" | "saturation" | "partial" | "unknown";

export interface SiteLoad {
  /** rate: a fixed offered rate; burst: every request at once; closed: N in flight; ramp: a ramp. */
  kind: "rate" | "burst" | "closed" | "ramp" | "unknown";
  offeredRps?: number;
  concurrency?: number;
  /** Completed requests per second in the measured window. */
  achievedRps?: number;
  point: LoadPoint;
  /** One line saying what load this is and what that means for its cost. */
  note: string;
}

/** One measured rate of a sweep, for the throughput–latency picture. */
export interface CurvePoint {
  label: string;
  offeredRps?: number;
  achievedRps?: number;
  outputTokensPerS?: number;
  ttftP50Ms?: number;
  ttftP99Ms?: number;
  tpotP50Ms?: number;
}

export interface SiteEntry {
  /** `model | engine`: what a history is kept per. */
  key: string;
  runId: string;
  date: string;
  status: BenchResult["status"];
  model: string;
  runtime: string;
  engine: string;
  workload: string;
  hardware: string;
  /** The machine the run recorded, for checking a cost profile's hardware (absent in older sites). */
  machine?: RunMachine;
  requests: { ok: number; total: number };
  /** Prefill: input tokens per second of the measured window (server usage). */
  prefillTokensPerS?: number;
  /** Decode: output tokens per second of the measured window (server usage). */
  decodeTokensPerS?: number;
  requestsPerS?: number;
  ttftP50Ms?: number;
  tpotP50Ms?: number;
  e2eP99Ms?: number;
  /** The load the figures were measured at (absent in sites published before it was recorded). */
  load?: SiteLoad;
  /** A sweep's every measured rate. */
  curve?: CurvePoint[];
  cost?: { per1MInput?: number; per1MOutput?: number };
  /** Why the cost profile's hardware is not this run's machine (published with --force). */
  costMismatch?: string;
}

export interface SiteData {
  schema: typeof SITE_SCHEMA;
  generatedAt: string;
  /** Runs kept per key. */
  history: number;
  costProfile?: PricedCost & { source: string };
  entries: SiteEntry[];
}

const isCapacity = (e: SiteEntry) => e.load?.point === "slo-capacity" || e.load?.point === "saturation";

function figures(entry: SiteEntry, m: WorkloadMetrics): SiteEntry {
  if (m.inputTokenThroughput !== undefined) entry.prefillTokensPerS = m.inputTokenThroughput;
  if (m.outputTokenThroughput !== undefined) entry.decodeTokensPerS = m.outputTokenThroughput;
  if (m.requestThroughput !== undefined) entry.requestsPerS = m.requestThroughput;
  if (m.ttftMs) entry.ttftP50Ms = m.ttftMs.p50;
  if (m.tpotMs) entry.tpotP50Ms = m.tpotMs.p50;
  if (m.e2eMs) entry.e2eP99Ms = m.e2eMs.p99;
  return entry;
}

const rps = (x: number | undefined) => (x === undefined ? "?" : x >= 10 ? x.toFixed(0) : x.toPrecision(2));

/** The load of a workload run once (not a sweep), from its config and what the server reported. */
export function loadOf(w: Workload | undefined, r: WorkloadResult): SiteLoad {
  const m = r.metrics;
  const achieved = m.requestThroughput === undefined ? {} : { achievedRps: m.requestThroughput };
  if (r.ramp !== undefined || r.steps !== undefined || w?.ramp !== undefined) {
    return {
      kind: "ramp",
      ...achieved,
      point: "partial",
      note: "a ramp: its figures average over loads that changed during the run",
    };
  }
  if (w === undefined) {
    return {
      kind: "unknown",
      ...achieved,
      ...(m.offeredQps === undefined ? {} : { offeredRps: m.offeredQps }),
      point: "unknown",
      note: "the result does not record the load this workload was run at",
    };
  }
  if (w.concurrency !== undefined) {
    const waiting = r.serverMetrics?.series.waiting;
    const queued = waiting !== undefined && waiting.max > 0;
    return {
      kind: "closed",
      concurrency: w.concurrency,
      ...achieved,
      point: queued ? "saturation" : "partial",
      note: queued
        ? `a closed loop of ${w.concurrency} in flight that kept requests waiting at the server: saturated`
        : waiting === undefined
          ? `a closed loop of ${w.concurrency} in flight; the server reported no queue, so saturation is not shown`
          : `a closed loop of ${w.concurrency} in flight that never queued a request at the server: below capacity`,
    };
  }
  if (w.qps === undefined) {
    return {
      kind: "burst",
      ...achieved,
      point: "saturation",
      note: "every request sent at once: the server's throughput at saturation (latencies include queueing)",
    };
  }
  return {
    kind: "rate",
    offeredRps: w.qps,
    ...achieved,
    point: "partial",
    note: `a fixed rate of ${rps(w.qps)} req/s, not a capacity point: the hour it prices includes idle time`,
  };
}

/** A sweep's capacity point: the highest rate meeting the SLOs, else its saturating stage. */
function sweepPoint(s: SweepSummary): { metrics: WorkloadMetrics; load: SiteLoad } | undefined {
  const best =
    s.maxRateMeetingSlo === undefined
      ? undefined
      : s.points.find((p) => p.kind === "rate" && p.offeredQps === s.maxRateMeetingSlo);
  if (best !== undefined) {
    const m = best.metrics;
    return {
      metrics: m,
      load: {
        kind: "rate",
        offeredRps: best.offeredQps!,
        ...(m.requestThroughput === undefined ? {} : { achievedRps: m.requestThroughput }),
        point: "slo-capacity",
        note: `the highest rate meeting the SLOs in a sweep: ${rps(best.offeredQps)} req/s`,
      },
    };
  }
  const top = s.points.find((p) => p.kind === "throughput");
  if (top === undefined) return undefined;
  const m = top.metrics;
  return {
    metrics: m,
    load: {
      kind: "burst",
      ...(m.requestThroughput === undefined ? {} : { achievedRps: m.requestThroughput }),
      point: "saturation",
      note:
        s.maxRateMeetingSlo === undefined && s.points.some((p) => p.metrics.goodput !== undefined)
          ? "no rate of the sweep met the SLOs: priced at its saturating stage (every request at once)"
          : "the sweep's saturating stage (every request at once); the sweep had no SLO to find a capacity by",
    },
  };
}

function curveOf(s: SweepSummary): CurvePoint[] {
  return s.points.map((p) => {
    const m = p.metrics;
    const c: CurvePoint = { label: p.label };
    if (p.offeredQps !== undefined) c.offeredRps = p.offeredQps;
    if (m.requestThroughput !== undefined) c.achievedRps = m.requestThroughput;
    if (m.outputTokenThroughput !== undefined) c.outputTokensPerS = m.outputTokenThroughput;
    if (m.ttftMs) {
      c.ttftP50Ms = m.ttftMs.p50;
      c.ttftP99Ms = m.ttftMs.p99;
    }
    if (m.tpotMs) c.tpotP50Ms = m.tpotMs.p50;
    return c;
  });
}

/** The entries a result contributes, before costs: one per workload × runtime, one per sweep. */
export function entriesOf(result: BenchResult): SiteEntry[] {
  const engineOf = (runtime: string) => {
    const health = result.targets.find((t) => t.runtime === runtime)?.health as
      | { engineVersion?: unknown }
      | undefined;
    return typeof health?.engineVersion === "string" ? health.engineVersion : runtime;
  };
  const env = result.environment;
  const hardware = `${env.cpuCount} × ${env.cpuModel}, ${Math.round(env.memoryBytes / 2 ** 30)} GiB${
    env.gpus && env.gpus.length > 0 ? `, ${env.gpus.length} × ${env.gpus[0]}` : ""
  }`;
  const machine: RunMachine = {
    cpuModel: env.cpuModel,
    cpuCount: env.cpuCount,
    gpus: env.gpus ?? [],
  };
  const base = (runtime: string, workload: string, m: WorkloadMetrics): SiteEntry => {
    const engine = engineOf(runtime);
    return {
      key: `${result.config.model} | ${engine}`,
      runId: result.id,
      date: result.startedAt,
      status: result.status,
      model: result.config.model,
      runtime,
      engine,
      workload,
      hardware,
      machine,
      requests: { ok: m.counts.ok, total: m.counts.total },
    };
  };
  const workloads = new Map(result.config.workloads.map((w) => [w.name, w]));
  const single = result.results
    .filter((r) => r.sweep === undefined)
    .map((r) => {
      const entry = figures(base(r.runtime, r.workload, r.metrics), r.metrics);
      entry.load = loadOf(workloads.get(r.workload), r);
      return entry;
    });
  const swept = (result.sweeps ?? []).flatMap((s) => {
    const chosen = sweepPoint(s);
    if (chosen === undefined) return [];
    const entry = figures(base(s.runtime, s.workload, chosen.metrics), chosen.metrics);
    entry.load = chosen.load;
    entry.curve = curveOf(s);
    return [entry];
  });
  return [...single, ...swept];
}

/**
 * Merges new entries into the previous site data (same run, workload and runtime replaced), keeps
 * the newest `history` runs per key, and prices every entry with `cost` (else the previous
 * profile, else none). Entries whose machine is not the profile's hardware carry the reason.
 */
export function buildSite(
  previous: SiteData | undefined,
  added: SiteEntry[],
  opts: { history: number; cost?: PricedCost & { source: string }; now?: Date },
): SiteData {
  const id = (e: SiteEntry) => `${e.runId}\u0000${e.workload}\u0000${e.runtime}`;
  const all = new Map<string, SiteEntry>();
  for (const e of previous?.entries ?? []) all.set(id(e), e);
  for (const e of added) all.set(id(e), e);
  const byKey = new Map<string, SiteEntry[]>();
  for (const e of all.values()) byKey.set(e.key, [...(byKey.get(e.key) ?? []), e]);
  const kept: SiteEntry[] = [];
  for (const entries of byKey.values()) {
    const runs = [...new Set(entries.map((e) => `${e.date}\u0000${e.runId}`))]
      .sort()
      .reverse()
      .slice(0, opts.history);
    const keep = new Set(runs.map((r) => r.split("\u0000")[1]));
    kept.push(...entries.filter((e) => keep.has(e.runId)));
  }
  const cost = opts.cost ?? previous?.costProfile;
  const priced = kept.map((e) => {
    const { cost: _old, costMismatch: _oldMismatch, ...rest } = e;
    if (!cost) return rest;
    const per1MInput = costPer1M(cost.dollarsPerHour, e.prefillTokensPerS);
    const per1MOutput = costPer1M(cost.dollarsPerHour, e.decodeTokensPerS);
    const mismatch = hardwareMismatch(cost.hardware, e.machine);
    return {
      ...rest,
      cost: {
        ...(per1MInput === undefined ? {} : { per1MInput }),
        ...(per1MOutput === undefined ? {} : { per1MOutput }),
      },
      ...(mismatch === undefined ? {} : { costMismatch: mismatch }),
    };
  });
  priced.sort((a, b) => (a.date === b.date ? a.key.localeCompare(b.key) : b.date.localeCompare(a.date)));
  return {
    schema: SITE_SCHEMA,
    generatedAt: (opts.now ?? new Date()).toISOString(),
    history: opts.history,
    ...(cost === undefined ? {} : { costProfile: cost }),
    entries: priced,
  };
}

/**
 * The headline of the index page, per key: the capacity points of the newest run that has any;
 * a key with none shows its newest run, whose entries say they are below capacity.
 */
export function headline(site: SiteData): SiteEntry[] {
  const out: SiteEntry[] = [];
  const keys = [...new Set(site.entries.map((e) => e.key))];
  for (const key of keys) {
    const mine = site.entries.filter((e) => e.key === key); // newest first
    const capacity = mine.find(isCapacity);
    if (capacity !== undefined) {
      out.push(...mine.filter((e) => e.runId === capacity.runId && isCapacity(e)));
    } else {
      out.push(...mine.filter((e) => e.runId === mine[0]!.runId));
    }
  }
  return out;
}
