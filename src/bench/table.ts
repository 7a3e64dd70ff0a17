/**
 * Terminal tables: the metrics of each workload × runtime in one row, and a comparison of two
 * runs. Absent values show as "–"; cells are aligned on their plain text and colored after.
 */
import { type Comparison, NOISE_SIGMAS, type Verdict } from "./compare.js";
import { ABSENT, formatValue } from "./format.js";
import type { WorkloadMetrics } from "./metric-types.js";

export interface TableRow {
  workload: string;
  runtime: string;
  metrics: WorkloadMetrics;
}

export interface TableOptions {
  color?: boolean;
}

type Align = "left" | "right";
type Style = "bold" | "red" | "green" | "yellow" | "dim";
interface Cell {
  text: string;
  style?: Style;
}

const ANSI: Record<Style, string> = {
  bold: "\x1b[1m",
  red: "\x1b[31m",
  green: "\x1b[32m",
  yellow: "\x1b[33m",
  dim: "\x1b[2m",
};
const RESET = "\x1b[0m";

function formatPct(v: number | undefined, signed: boolean): string {
  if (v === undefined || !Number.isFinite(v)) return ABSENT;
  const s = Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(1);
  return signed && v > 0 ? `+${s}%` : `${s}%`;
}

function layout(header: string[], rows: Cell[][], align: Align[], color: boolean): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]?.text.length ?? 0)));
  const pad = (text: string, c: number): string =>
    align[c] === "right" ? text.padStart(widths[c]!) : text.padEnd(widths[c]!);
  const paint = (text: string, style: Style | undefined): string =>
    color && style !== undefined ? `${ANSI[style]}${text}${RESET}` : text;
  const lines = [header.map((h, c) => paint(pad(h, c), "bold")).join("  ")];
  for (const r of rows) lines.push(r.map((cell, c) => paint(pad(cell.text, c), cell.style)).join("  "));
  return lines.map((l) => l.trimEnd()).join("\n");
}

/**
 * One row per workload × runtime: requests ok/errored (errors and incomplete streams), request and output token throughput,
 * TTFT/TPOT/E2E p50 and p99, ITL p50, goodput (req/s and the fraction that met the SLOs) and cost
 * per 1M output tokens. Rows with warnings are marked "*" and the warnings listed below.
 */
export function renderTable(rows: TableRow[], opts: TableOptions = {}): string {
  const color = opts.color ?? false;
  const header = [
    "workload",
    "runtime",
    "ok/err",
    "req/s",
    "out tok/s",
    "TTFT p50 (ms)",
    "TTFT p99 (ms)",
    "TPOT p50 (ms)",
    "TPOT p99 (ms)",
    "ITL p50 (ms)",
    "E2E p50 (ms)",
    "E2E p99 (ms)",
    "goodput (req/s)",
    "$/1M out",
  ];
  const align: Align[] = ["left", "left", ...header.slice(2).map((): Align => "right")];
  const notes: string[] = [];
  const cells = rows.map(({ workload, runtime, metrics: m }): Cell[] => {
    const failed = m.counts.errored + m.counts.incomplete;
    const warned = m.warnings.length > 0;
    if (warned) for (const w of m.warnings) notes.push(`* ${workload} / ${runtime}: ${w}`);
    const g = m.goodput;
    const goodput =
      g === undefined
        ? ABSENT
        : `${formatValue(g.requestsPerS)}${g.fraction !== undefined ? ` (${formatPct(g.fraction * 100, false)})` : ""}`;
    const cost = m.cost?.costPer1MOutputTokens;
    return [
      { text: warned ? `${workload} *` : workload, ...(warned ? { style: "yellow" as const } : {}) },
      { text: runtime },
      { text: `${m.counts.ok}/${failed}`, ...(failed > 0 ? { style: "red" as const } : {}) },
      { text: formatValue(m.requestThroughput) },
      { text: formatValue(m.outputTokenThroughput) },
      { text: formatValue(m.ttftMs?.p50) },
      { text: formatValue(m.ttftMs?.p99) },
      { text: formatValue(m.tpotMs?.p50) },
      { text: formatValue(m.tpotMs?.p99) },
      { text: formatValue(m.itlMs?.p50) },
      { text: formatValue(m.e2eMs?.p50) },
      { text: formatValue(m.e2eMs?.p99) },
      { text: goodput },
      { text: cost === undefined ? ABSENT : `$${formatValue(cost)}` },
    ];
  });
  const table = layout(header, cells, align, color);
  return notes.length > 0 ? `${table}\n\n${notes.join("\n")}` : table;
}

const VERDICT_STYLE: Record<Verdict, Style | undefined> = {
  better: "green",
  worse: "red",
  "within noise": "dim",
  "within threshold": undefined,
  missing: "dim",
};

/** One row per (workload, runtime, key metric): A, B, change, noise (1σ of the difference), verdict. */
export function renderComparison(cmp: Comparison, opts: TableOptions = {}): string {
  const color = opts.color ?? false;
  const header = ["workload", "runtime", "metric", "A", "B", "change", "noise (1σ)", "verdict"];
  const align: Align[] = ["left", "left", "left", "right", "right", "right", "right", "left"];
  const rows: Cell[][] = [];
  for (const p of cmp.pairs) {
    p.metrics.forEach((m, i) => {
      rows.push([
        { text: i === 0 ? p.workload : "" },
        { text: i === 0 ? p.runtime : "" },
        { text: `${m.label} (${m.unit})` },
        { text: formatValue(m.a) },
        { text: formatValue(m.b) },
        { text: formatPct(m.changePct, true) },
        { text: m.noisePct !== undefined ? `±${formatPct(m.noisePct, false)}` : formatValue(m.noise) },
        {
          text: m.verdict,
          ...(VERDICT_STYLE[m.verdict] !== undefined ? { style: VERDICT_STYLE[m.verdict]! } : {}),
        },
      ]);
    });
  }
  const parts: string[] = [];
  if (rows.length > 0) parts.push(layout(header, rows, align, color));
  for (const x of cmp.onlyInA) parts.push(`only in A: ${x.workload} / ${x.runtime}`);
  for (const x of cmp.onlyInB) parts.push(`only in B: ${x.workload} / ${x.runtime}`);
  parts.push(
    `${cmp.regressions} regression(s), ${cmp.improvements} improvement(s) ` +
      `(a change counts when it exceeds ${cmp.thresholdPct}% and ${NOISE_SIGMAS}× its noise; noise floor ${cmp.noiseFloorPct}%)`,
  );
  return parts.join("\n");
}
