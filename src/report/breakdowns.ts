/**
 * The report's per-part tables of one result: a rate ramp's steps (`results[].steps`) and a
 * session workload's turns (`results[].sessions.turns`), one row per step or turn, plus the lines
 * on a search's capacity point. Absent values are unknown ("–"), never zero.
 */
import type { WorkloadMetrics } from "../bench/metric-types.js";
import type { WorkloadResult } from "../bench/run.js";
import type { SweepSummary } from "../bench/sweep.js";
import { escapeHtml } from "./html-escape.js";

/** One row: a step of a ramp or a turn index of sessions. */
export interface BreakdownRow {
  label: string;
  /** The step's offered rate (ramps). */
  offeredQps?: number;
  total: number;
  ok: number;
  ttftP50?: number;
  ttftP99?: number;
  tpotP50?: number;
  e2eP50?: number;
  inputTokensMean?: number;
  goodputFraction?: number;
}

export interface Breakdown {
  runtime: string;
  kind: "ramp steps" | "turns";
  rows: BreakdownRow[];
  /** Session totals, one line. */
  note?: string;
}

function rowOf(label: string, m: WorkloadMetrics, offeredQps?: number): BreakdownRow {
  const out: BreakdownRow = { label, total: m.counts?.total ?? 0, ok: m.counts?.ok ?? 0 };
  const put = <K extends keyof BreakdownRow>(k: K, v: BreakdownRow[K] | undefined) => {
    if (v !== undefined) out[k] = v;
  };
  put("offeredQps", offeredQps);
  put("ttftP50", m.ttftMs?.p50);
  put("ttftP99", m.ttftMs?.p99);
  put("tpotP50", m.tpotMs?.p50);
  put("e2eP50", m.e2eMs?.p50);
  const ok = m.counts?.ok ?? 0;
  put("inputTokensMean", m.tokens?.input !== undefined && ok > 0 ? m.tokens.input / ok : undefined);
  put("goodputFraction", m.goodput?.fraction);
  return out;
}

/** The breakdowns of a result, when it has steps or turns. */
export function breakdownsOf(r: Pick<WorkloadResult, "runtime" | "steps" | "sessions">): Breakdown[] {
  const out: Breakdown[] = [];
  if (Array.isArray(r.steps) && r.steps.length > 0) {
    out.push({
      runtime: r.runtime,
      kind: "ramp steps",
      rows: r.steps.map((s) => rowOf(`step ${s.step} (${s.startS}–${s.endS} s)`, s.metrics, s.offeredQps)),
    });
  }
  const sessions = r.sessions;
  if (sessions !== undefined && Array.isArray(sessions.turns)) {
    const t = sessions.totals;
    const hit =
      t.prefixCacheHitRate === undefined
        ? ""
        : `; prefix-cache hit rate ${(t.prefixCacheHitRate * 100).toFixed(1)} %`;
    out.push({
      runtime: r.runtime,
      kind: "turns",
      rows: sessions.turns.map((x) => rowOf(`turn ${x.turn}`, x.metrics)),
      note: `${t.started} sessions started, ${t.completed} completed, ${t.broken} broken, ${t.turnsSent} turns sent${hit}`,
    });
  }
  return out;
}

const ABSENT = "–";
const fmt = (v: number | undefined, digits = 1) => (v === undefined ? ABSENT : v.toFixed(digits));

/** The tables, as HTML. */
export function breakdownTables(list: readonly Breakdown[]): string {
  return list
    .map((b) => {
      const ramp = b.kind === "ramp steps";
      const head = [
        ramp ? "step" : "turn",
        ...(ramp ? ["offered req/s"] : []),
        "ok / total",
        "TTFT p50 ms",
        "TTFT p99 ms",
        "TPOT p50 ms",
        "E2E p50 ms",
        "prompt tokens (mean)",
        "met SLOs",
      ];
      const rows = b.rows.map((r) => {
        const cells = [
          escapeHtml(r.label),
          ...(ramp ? [fmt(r.offeredQps, 2)] : []),
          `${r.ok} / ${r.total}`,
          fmt(r.ttftP50),
          fmt(r.ttftP99),
          fmt(r.tpotP50, 2),
          fmt(r.e2eP50),
          fmt(r.inputTokensMean, 0),
          r.goodputFraction === undefined ? ABSENT : `${(r.goodputFraction * 100).toFixed(1)} %`,
        ];
        return `<tr>${cells.map((c, i) => `<td${i === 0 ? ' class="name"' : ""}>${c}</td>`).join("")}</tr>`;
      });
      return (
        `<h4>${escapeHtml(b.runtime)}: ${b.kind}</h4>` +
        (b.note === undefined ? "" : `<p class="dim">${escapeHtml(b.note)}</p>`) +
        `<div class="scroll"><table><thead><tr>${head.map((h) => `<th>${h}</th>`).join("")}</tr></thead>` +
        `<tbody>${rows.join("")}</tbody></table></div>`
      );
    })
    .join("");
}

/** A search's answer in words, for the sweep list; undefined for a `points` sweep. */
export function capacityText(s: Pick<SweepSummary, "mode" | "capacity" | "search">): string | undefined {
  if (s.mode !== "search") return undefined;
  const c = s.capacity;
  const end = s.search?.end ?? "ended";
  if (c === undefined) return `no rate met the SLOs (search ${end})`;
  const bound = (x: number | undefined) => (x === undefined ? "?" : x.toFixed(2));
  const goodput = c.goodput === undefined ? "" : `, goodput ${c.goodput.toFixed(2)} req/s`;
  return (
    `capacity ${c.rate.toFixed(2)} req/s (${Math.round(c.ci.confidence * 100)} % interval ` +
    `${bound(c.ci.low)}–${bound(c.ci.high)} req/s; ${(c.attainment * 100).toFixed(1)} % met the SLOs, ` +
    `target ${(c.target * 100).toFixed(1)} %${goodput}; ${s.search?.points.length ?? 0} rates measured, search ${end})`
  );
}
