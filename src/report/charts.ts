/**
 * The chart specs the page draws: plain data (titles, axes, series of numbers) that the client
 * script turns into Chart.js charts. Each runtime keeps one color across the whole report.
 */
import type { Curve } from "./cdf.js";
import type { Percentiles, RuntimeCharts, SweepSection, WorkloadSection } from "./data.js";
import type { TimelineSeries } from "./timeline.js";
import type { GroupCurves } from "./traces.js";

export interface ChartSeries {
  label: string;
  /** Index into the page's palette. */
  color: number;
  /** x values of a line chart; absent on a bar chart (one value per category). */
  x?: number[];
  y: (number | null)[];
  dashed?: boolean;
  /** Drawn as a step function (a CDF). */
  stepped?: boolean;
  /** Markers at each point (few points, as on a sweep curve). */
  points?: boolean;
}

export interface ChartSpec {
  /** The id of its canvas. */
  id: string;
  kind: "line" | "bar";
  title: string;
  xTitle: string;
  yTitle: string;
  /** Category labels of a bar chart. */
  categories?: string[];
  xMin?: number;
  yMax?: number;
  series: ChartSeries[];
}

/** A chart without its id (the page assigns ids as it places charts). */
export type ChartDraft = Omit<ChartSpec, "id">;

const CDF_METRICS: { key: keyof GroupCurves; title: string; of: string }[] = [
  { key: "ttft", title: "TTFT", of: "requests" },
  { key: "tpot", title: "TPOT", of: "requests" },
  { key: "itl", title: "ITL", of: "chunk gaps" },
  { key: "e2e", title: "E2E latency", of: "requests" },
];

/** Colors by runtime, in order of first appearance. */
export class RuntimeColors {
  private readonly index = new Map<string, number>();
  of(runtime: string): number {
    let i = this.index.get(runtime);
    if (i === undefined) {
      i = this.index.size;
      this.index.set(runtime, i);
    }
    return i;
  }
}

function cdfChart(section: WorkloadSection, m: (typeof CDF_METRICS)[number], colors: RuntimeColors) {
  const series: ChartSeries[] = [];
  for (const r of section.runtimes) {
    const c: Curve | undefined = r.curves?.[m.key];
    if (c === undefined) continue;
    series.push({ label: r.runtime, color: colors.of(r.runtime), x: c.x, y: c.y, stepped: true });
  }
  return series.length === 0
    ? undefined
    : {
        kind: "line" as const,
        title: `${m.title} CDF`,
        xTitle: `${m.title} (ms)`,
        yTitle: `fraction of ${m.of}`,
        yMax: 1,
        series,
      };
}

const PCTS = ["p50", "p90", "p95", "p99"] as const;

function percentileChart(
  section: WorkloadSection,
  metric: "ttft" | "tpot",
  colors: RuntimeColors,
): ChartDraft | undefined {
  const series: ChartSeries[] = [];
  for (const r of section.runtimes) {
    const p: Percentiles | undefined = r[metric];
    if (p === undefined) continue;
    series.push({ label: r.runtime, color: colors.of(r.runtime), y: PCTS.map((k) => p[k]) });
  }
  const name = metric === "ttft" ? "TTFT" : "TPOT";
  return series.length === 0
    ? undefined
    : {
        kind: "bar",
        title: `${name} percentiles`,
        xTitle: "percentile",
        yTitle: `${name} (ms)`,
        categories: [...PCTS],
        series,
      };
}

function timelineChart(
  runtimes: RuntimeCharts[],
  colors: RuntimeColors,
  title: string,
  yTitle: string,
  pick: (t: TimelineSeries) => { suffix: string; y: number[]; dashed?: boolean }[],
): ChartDraft | undefined {
  const series: ChartSeries[] = [];
  for (const r of runtimes) {
    if (r.timeline === undefined) continue;
    for (const s of pick(r.timeline)) {
      series.push({
        label: `${r.runtime}${s.suffix}`,
        color: colors.of(r.runtime),
        x: r.timeline.t,
        y: s.y,
        // A short run has a few bins: markers keep a lone point visible.
        ...(r.timeline.t.length <= 30 ? { points: true } : {}),
        ...(s.dashed ? { dashed: true } : {}),
      });
    }
  }
  if (series.length === 0) return undefined;
  const binS = Math.max(...runtimes.map((r) => r.timeline?.binS ?? 1));
  const x = binS === 1 ? "time (s, 1 s bins)" : `time (s, ${binS} s bins)`;
  return { kind: "line", title, xTitle: x, yTitle, xMin: 0, series };
}

/** A workload's charts, grouped: CDFs, percentile bars, time series. Charts with no data are left out. */
export function workloadCharts(
  section: WorkloadSection,
  colors: RuntimeColors,
): { cdfs: ChartDraft[]; percentiles: ChartDraft[]; timelines: ChartDraft[] } {
  const keep = <T>(xs: (T | undefined)[]): T[] => xs.filter((x): x is T => x !== undefined);
  const rt = section.runtimes;
  return {
    cdfs: keep(CDF_METRICS.map((m) => cdfChart(section, m, colors))),
    percentiles: keep([percentileChart(section, "ttft", colors), percentileChart(section, "tpot", colors)]),
    timelines: keep([
      timelineChart(rt, colors, "Achieved request rate", "requests / s", (t) => [
        { suffix: " sent", y: t.sent },
        { suffix: " completed", y: t.completed, dashed: true },
      ]),
      timelineChart(rt, colors, "Requests in flight", "mean in flight", (t) => [
        { suffix: "", y: t.inFlight },
      ]),
      timelineChart(rt, colors, "Failed requests (errored or incomplete)", "requests / s", (t) => [
        { suffix: "", y: t.failed },
      ]),
    ]),
  };
}

/** The curves of all sweeps of one workload (one series set per runtime). */
export function sweepCharts(sweeps: SweepSection[], colors: RuntimeColors): ChartDraft[] {
  const latency: ChartSeries[] = [];
  const tokens: ChartSeries[] = [];
  for (const s of sweeps) {
    const color = colors.of(s.runtime);
    const line = (
      label: string,
      pick: (p: SweepSection["points"][number]) => number | undefined,
      dashed = false,
    ) => {
      const pts = s.points.filter((p) => p.achievedQps !== undefined && pick(p) !== undefined);
      return pts.length === 0
        ? undefined
        : {
            label,
            color,
            x: pts.map((p) => p.achievedQps!),
            y: pts.map((p) => pick(p)!),
            points: true,
            ...(dashed ? { dashed: true } : {}),
          };
    };
    const p50 = line(`${s.runtime} TTFT p50`, (p) => p.ttftP50);
    const p99 = line(`${s.runtime} TTFT p99`, (p) => p.ttftP99, true);
    const out = line(`${s.runtime} output tok/s`, (p) => p.outputTokensPerS);
    if (p50) latency.push(p50);
    if (p99) latency.push(p99);
    if (out) tokens.push(out);
  }
  const charts: ChartDraft[] = [];
  const x = "achieved request throughput (req/s)";
  if (latency.length > 0)
    charts.push({
      kind: "line",
      title: "TTFT vs throughput",
      xTitle: x,
      yTitle: "TTFT (ms)",
      series: latency,
    });
  if (tokens.length > 0)
    charts.push({
      kind: "line",
      title: "Output tokens/s vs throughput",
      xTitle: x,
      yTitle: "output tokens / s",
      series: tokens,
    });
  return charts;
}
