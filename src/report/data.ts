/**
 * Reduces a result file (and the `requests.jsonl` beside it, when there is one) to what the report
 * shows: one summary row per workload × runtime, per workload the latency CDFs, percentile bars and
 * timelines of each runtime, and the sweep curves. Figures come from `result.json` as written;
 * only the curves and timelines are computed here, from the traces.
 */
import { existsSync } from "node:fs";
import type { WorkloadMetrics } from "../bench/metric-types.js";
import type { Summary } from "../bench/stats.js";
import { type Breakdown, breakdownsOf, capacityText } from "./breakdowns.js";
import { type ReportInput, readReportInput, tracesPathOf } from "./load.js";
import type { TimelineSeries } from "./timeline.js";
import { type GroupCurves, groupKey, readTraceGroups } from "./traces.js";

/** One line of the summary table. Absent values are unknown (shown as "–"), never zero. */
export interface SummaryRow {
  workload: string;
  runtime: string;
  /** The sweep this row is a stage of. */
  sweepOf?: string;
  total: number;
  ok: number;
  errored: number;
  incomplete: number;
  requestsPerS?: number;
  outputTokensPerS?: number;
  ttftP50?: number;
  ttftP99?: number;
  tpotP50?: number;
  tpotP99?: number;
  itlP50?: number;
  e2eP50?: number;
  e2eP99?: number;
  goodputPerS?: number;
  goodputFraction?: number;
  costPer1MInput?: number;
  costPer1MOutput?: number;
  /** The client did not keep the schedule (see the warnings). */
  lagWarning: boolean;
  /** False when output lengths were not the planned ones (ignore_eos refused or not honoured). */
  outputLengthsExact?: boolean;
}

/** p50/p90/p95/p99 of one metric, from the result's exact summary. */
export interface Percentiles {
  p50: number;
  p90: number;
  p95: number;
  p99: number;
}

/** One runtime's part of a workload section. */
export interface RuntimeCharts {
  runtime: string;
  ttft?: Percentiles;
  tpot?: Percentiles;
  /** From the traces; absent without `requests.jsonl`. */
  curves?: GroupCurves;
  timeline?: TimelineSeries;
  errorSamples: WorkloadMetrics["errorSamples"];
}

export interface WorkloadSection {
  name: string;
  sweepOf?: string;
  runtimes: RuntimeCharts[];
  /** A ramp's steps or sessions' turns, per runtime (breakdowns.ts). */
  breakdowns?: Breakdown[];
}

/** One sweep point: the achieved request rate (x) and what it cost in latency. */
export interface SweepCurvePoint {
  label: string;
  kind: string;
  offeredQps?: number;
  achievedQps?: number;
  ttftP50?: number;
  ttftP99?: number;
  outputTokensPerS?: number;
}

export interface SweepSection {
  workload: string;
  runtime: string;
  maxRateMeetingSlo?: number;
  sloAttainment?: number;
  /** Whether the workload had SLOs (its points report goodput). */
  sloConfigured: boolean;
  /** In order of achieved rate; points with no achieved rate last. */
  points: SweepCurvePoint[];
  /** A search's capacity point in words (breakdowns.ts); absent for a points sweep. */
  capacityText?: string;
}

export interface TraceInfo {
  /** The requests.jsonl looked for. */
  file: string;
  found: boolean;
  lines: number;
  /** Lines of a workload × runtime that the result does not list. */
  unmatched: number;
}

export interface ReportData {
  run: {
    id: string;
    status: "complete" | "incomplete" | "failed" | "unknown";
    model?: string;
    startedAt?: string;
    finishedAt?: string;
    seed?: number;
    configFile?: string;
    tokenforge?: string;
  };
  rows: SummaryRow[];
  workloads: WorkloadSection[];
  sweeps: SweepSection[];
  traces: TraceInfo;
  warnings: string[];
  /** Shown as they are, pretty-printed. */
  config?: unknown;
  environment?: unknown;
  calibration?: unknown;
  targets?: unknown;
}

function percentiles(s: Summary | undefined): Percentiles | undefined {
  return s === undefined ? undefined : { p50: s.p50, p90: s.p90, p95: s.p95, p99: s.p99 };
}

function row(r: ReportInput["results"][number]): SummaryRow {
  const m = r.metrics;
  const out: SummaryRow = {
    workload: r.workload,
    runtime: r.runtime,
    total: m.counts?.total ?? 0,
    ok: m.counts?.ok ?? 0,
    errored: m.counts?.errored ?? 0,
    incomplete: m.counts?.incomplete ?? 0,
    lagWarning: m.lagWarning === true,
  };
  const put = <K extends keyof SummaryRow>(k: K, v: SummaryRow[K] | undefined) => {
    if (v !== undefined) out[k] = v;
  };
  put("sweepOf", r.sweep?.of);
  put("requestsPerS", m.requestThroughput);
  put("outputTokensPerS", m.outputTokenThroughput);
  put("ttftP50", m.ttftMs?.p50);
  put("ttftP99", m.ttftMs?.p99);
  put("tpotP50", m.tpotMs?.p50);
  put("tpotP99", m.tpotMs?.p99);
  put("itlP50", m.itlMs?.p50);
  put("e2eP50", m.e2eMs?.p50);
  put("e2eP99", m.e2eMs?.p99);
  put("goodputPerS", m.goodput?.requestsPerS);
  put("goodputFraction", m.goodput?.fraction);
  put("costPer1MInput", m.cost?.costPer1MInputTokens);
  put("costPer1MOutput", m.cost?.costPer1MOutputTokens);
  // Results written before the field existed say nothing: absent, never "exact".
  put("outputLengthsExact", m.outputLengths?.exact);
  return out;
}

function sweepSection(s: ReportInput["sweeps"][number]): SweepSection {
  const points = s.points.map((p) => {
    const m = p.metrics;
    const out: SweepCurvePoint = { label: String(p.label), kind: String(p.kind) };
    if (p.offeredQps !== undefined) out.offeredQps = p.offeredQps;
    if (m.requestThroughput !== undefined) out.achievedQps = m.requestThroughput;
    if (m.ttftMs?.p50 !== undefined) out.ttftP50 = m.ttftMs.p50;
    if (m.ttftMs?.p99 !== undefined) out.ttftP99 = m.ttftMs.p99;
    if (m.outputTokenThroughput !== undefined) out.outputTokensPerS = m.outputTokenThroughput;
    return out;
  });
  points.sort(
    (a, b) => (a.achievedQps ?? Number.POSITIVE_INFINITY) - (b.achievedQps ?? Number.POSITIVE_INFINITY),
  );
  return {
    workload: s.workload,
    runtime: s.runtime,
    ...(s.maxRateMeetingSlo === undefined ? {} : { maxRateMeetingSlo: s.maxRateMeetingSlo }),
    ...(s.sloAttainment === undefined ? {} : { sloAttainment: s.sloAttainment }),
    sloConfigured: s.points.some((p) => p.metrics.goodput !== undefined),
    points,
    ...(capacityText(s) === undefined ? {} : { capacityText: capacityText(s) }),
  };
}

/** The report's data from a checked result and the path of its traces (read when the file exists). */
export function reportData(input: ReportInput, tracesPath: string): ReportData {
  const origins = new Map<string, number>();
  for (const r of input.results) {
    const key = groupKey(r.workload, r.runtime);
    if (!origins.has(key)) origins.set(key, r.metrics.window?.startMs ?? 0);
  }
  const found = existsSync(tracesPath);
  const traces = found ? readTraceGroups(tracesPath, origins) : undefined;

  const sections = new Map<string, WorkloadSection>();
  for (const r of input.results) {
    let section = sections.get(r.workload);
    if (section === undefined) {
      section = { name: r.workload, ...(r.sweep === undefined ? {} : { sweepOf: r.sweep.of }), runtimes: [] };
      sections.set(r.workload, section);
    }
    if (section.runtimes.some((x) => x.runtime === r.runtime)) continue;
    const group = traces?.groups.get(groupKey(r.workload, r.runtime));
    const charts: RuntimeCharts = { runtime: r.runtime, errorSamples: r.metrics.errorSamples ?? [] };
    const ttft = percentiles(r.metrics.ttftMs);
    const tpot = percentiles(r.metrics.tpotMs);
    if (ttft !== undefined) charts.ttft = ttft;
    if (tpot !== undefined) charts.tpot = tpot;
    if (traces !== undefined) charts.curves = group?.curves ?? {};
    if (group?.timeline !== undefined) charts.timeline = group.timeline;
    section.runtimes.push(charts);
    const parts = breakdownsOf(r);
    if (parts.length > 0) section.breakdowns = [...(section.breakdowns ?? []), ...parts];
  }

  const config = input.config;
  return {
    run: {
      id: input.id ?? "unknown",
      status: input.status ?? "unknown",
      ...(config?.model === undefined ? {} : { model: config.model }),
      ...(input.startedAt === undefined ? {} : { startedAt: input.startedAt }),
      ...(input.finishedAt === undefined ? {} : { finishedAt: input.finishedAt }),
      ...(input.seed === undefined ? {} : { seed: input.seed }),
      ...(input.configFile === undefined ? {} : { configFile: input.configFile }),
      ...(input.environment?.tokenforge === undefined ? {} : { tokenforge: input.environment.tokenforge }),
    },
    rows: input.results.map(row),
    workloads: [...sections.values()],
    sweeps: input.sweeps.map(sweepSection),
    traces: {
      file: tracesPath,
      found,
      lines: traces?.lines ?? 0,
      unmatched: traces?.unmatched ?? 0,
    },
    warnings: input.warnings,
    config: input.config,
    environment: input.environment,
    calibration: input.calibration,
    targets: input.targets,
  };
}

/** Reads `resultFile` and the traces beside it; throws ResultFileError naming a bad file. */
export function loadReportData(resultFile: string): ReportData {
  const input = readReportInput(resultFile);
  return reportData(input, tracesPathOf(resultFile, input));
}
