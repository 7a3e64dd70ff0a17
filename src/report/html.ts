/**
 * Renders the report as one self-contained HTML page: the tables are HTML (readable without
 * script), the charts are drawn by the inlined chart library from specs embedded as JSON. Nothing
 * is fetched at view time, which the page's Content-Security-Policy also enforces.
 */
import { ABSENT, formatValue } from "../bench/format.js";
import type { ChartLibrary } from "./assets.js";
import { breakdownTables } from "./breakdowns.js";
import { type ChartDraft, type ChartSpec, RuntimeColors, sweepCharts, workloadCharts } from "./charts.js";
import { CLIENT_SCRIPT } from "./client.js";
import type { ReportData, SummaryRow, SweepSection } from "./data.js";
import { escapeHtml, jsonForScript } from "./html-escape.js";

const num = (v: number | undefined) => (v === undefined ? ABSENT : formatValue(v));
const dollars = (v: number | undefined) => (v === undefined ? ABSENT : `$${formatValue(v)}`);
const pair = (a: number | undefined, b: number | undefined) => `${num(a)} / ${num(b)}`;
const pct = (v: number | undefined) => (v === undefined ? ABSENT : `${(v * 100).toFixed(1)} %`);

/** Places charts on the page, giving each its canvas id. */
class ChartPlacer {
  readonly specs: ChartSpec[] = [];

  place(draft: ChartDraft): string {
    const id = `chart-${this.specs.length}`;
    this.specs.push({ id, ...draft });
    return (
      `<figure class="chart"><figcaption>${escapeHtml(draft.title)}</figcaption>` +
      `<div class="plot"><canvas id="${id}" data-chart="${escapeHtml(draft.title)}" role="img" ` +
      `aria-label="${escapeHtml(draft.title)}"></canvas></div></figure>`
    );
  }

  grid(drafts: ChartDraft[]): string {
    return drafts.length === 0
      ? ""
      : `<div class="charts">${drafts.map((d) => this.place(d)).join("")}</div>`;
  }
}

function summaryTable(rows: SummaryRow[]): string {
  const head = [
    "workload",
    "runtime",
    "ok / errored / incomplete",
    "req/s",
    "output tok/s",
    "TTFT p50 / p99",
    "TPOT p50 / p99",
    "ITL p50",
    "E2E p50 / p99",
    "goodput req/s",
    "$ / 1M input",
    "$ / 1M output",
  ];
  const body = rows.map((r) => {
    const goodput =
      r.goodputPerS === undefined && r.goodputFraction === undefined
        ? ABSENT
        : `${num(r.goodputPerS)} <span class="dim">(${pct(r.goodputFraction)})</span>`;
    const counts = `${r.ok} / <span class="${r.errored > 0 ? "bad" : ""}">${r.errored}</span> / <span class="${r.incomplete > 0 ? "bad" : ""}">${r.incomplete}</span>`;
    const cells = [
      `<td class="name">${escapeHtml(r.workload)}</td>`,
      `<td class="name"><span class="runtime">${escapeHtml(r.runtime)}</span>${r.lagWarning ? ' <span class="warn" title="client lag: see the warnings">⚠</span>' : ""}</td>`,
      `<td>${counts}</td>`,
      `<td>${num(r.requestsPerS)}</td>`,
      `<td>${num(r.outputTokensPerS)}${r.outputLengthsExact === false ? ' <span class="warn" title="output lengths not exact: see the warnings">≈</span>' : ""}</td>`,
      `<td>${pair(r.ttftP50, r.ttftP99)}</td>`,
      `<td>${pair(r.tpotP50, r.tpotP99)}</td>`,
      `<td>${num(r.itlP50)}</td>`,
      `<td>${pair(r.e2eP50, r.e2eP99)}</td>`,
      `<td>${goodput}</td>`,
      `<td>${dollars(r.costPer1MInput)}</td>`,
      `<td>${dollars(r.costPer1MOutput)}</td>`,
    ];
    return `<tr>${cells.join("")}</tr>`;
  });
  return (
    `<div class="scroll"><table class="summary"><thead><tr>${head.map((h) => `<th>${h}</th>`).join("")}</tr></thead>` +
    `<tbody>${body.join("")}</tbody></table></div>` +
    `<p class="dim">Latencies in ms over ok requests; throughputs over the measured window; goodput in ` +
    `parentheses is the fraction of requests that met every SLO; ${ABSENT} means not measured or not configured.</p>` +
    (rows.some((r) => r.outputLengthsExact === false)
      ? `<p class="dim">≈ output lengths not exact: the server chose how many tokens to generate (it refused or ignored ` +
        `ignore_eos), so output throughput and cost per output token are at its lengths, not the plan's.</p>`
      : "")
  );
}

function errorTable(section: ReportData["workloads"][number]): string {
  const rows = section.runtimes.flatMap((r) =>
    r.errorSamples.map(
      (e) =>
        `<tr><td class="name">${escapeHtml(r.runtime)}</td><td class="name">${escapeHtml(e.outcome)}</td>` +
        `<td>${e.status ?? ABSENT}</td><td class="name">${escapeHtml(e.error)}</td><td>${e.count}</td></tr>`,
    ),
  );
  if (rows.length === 0) return "";
  return (
    `<h4>Failures</h4><table><thead><tr><th>runtime</th><th>outcome</th><th>status</th><th>error</th>` +
    `<th>requests</th></tr></thead><tbody>${rows.join("")}</tbody></table>`
  );
}

function sweepText(s: SweepSection): string {
  if (!s.sloConfigured) return `<li>${escapeHtml(s.runtime)}: no SLO configured</li>`;
  if (s.capacityText !== undefined) return `<li>${escapeHtml(s.runtime)}: ${escapeHtml(s.capacityText)}</li>`;
  const attainment =
    s.sloAttainment === undefined ? "" : ` (≥ ${(s.sloAttainment * 100).toFixed(0)} % of requests)`;
  const best =
    s.maxRateMeetingSlo === undefined
      ? "none of the measured rates"
      : `${formatValue(s.maxRateMeetingSlo)} req/s`;
  return `<li>${escapeHtml(s.runtime)}: highest rate meeting the SLOs${attainment}: ${best}</li>`;
}

function keyValues(value: unknown): string {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return pre(value);
  const rows = Object.entries(value as Record<string, unknown>).map(([k, v]) => {
    let shown = typeof v === "object" && v !== null ? JSON.stringify(v) : String(v);
    if (typeof v === "number" && k.endsWith("Bytes")) shown += ` (${formatValue(v / 2 ** 30)} GiB)`;
    return `<tr><th>${escapeHtml(k)}</th><td class="name">${escapeHtml(shown)}</td></tr>`;
  });
  return `<table class="kv"><tbody>${rows.join("")}</tbody></table>`;
}

function pre(value: unknown): string {
  return value === undefined
    ? `<p class="dim">not recorded</p>`
    : `<pre>${escapeHtml(JSON.stringify(value, null, 2))}</pre>`;
}

function header(data: ReportData, library: ChartLibrary): string {
  const r = data.run;
  const status =
    r.status === "complete"
      ? `<span class="badge ok">complete</span>`
      : `<span class="badge bad">${escapeHtml(r.status)}</span>`;
  let duration = "";
  if (r.startedAt !== undefined && r.finishedAt !== undefined) {
    const s = (Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 1000;
    if (Number.isFinite(s)) duration = ` (${formatValue(s)} s)`;
  }
  const item = (k: string, v: string | undefined) =>
    v === undefined ? "" : `<div><dt>${k}</dt><dd>${escapeHtml(v)}</dd></div>`;
  const banner =
    r.status === "incomplete"
      ? `<p class="banner">Incomplete run: it was interrupted, so the figures cover only the requests ` +
        `sent before it stopped (requests in flight then count as incomplete).</p>`
      : r.status === "failed"
        ? `<p class="banner">Failed run: too many of its requests failed for its figures to stand; ` +
          `the failures table below lists what the server answered.</p>`
        : "";
  return (
    `<header><h1>Benchmark report: ${escapeHtml(r.model ?? "unknown model")}</h1>${banner}<dl class="meta">` +
    `<div><dt>status</dt><dd>${status}</dd></div>` +
    item("run", r.id) +
    item("started", r.startedAt) +
    (r.finishedAt === undefined ? "" : item("finished", `${r.finishedAt}${duration}`)) +
    item("seed", r.seed === undefined ? undefined : String(r.seed)) +
    item("config", r.configFile) +
    item("TokenForge", r.tokenforge) +
    item("charts", `${library.name} ${library.version}, inlined`) +
    `</dl></header>`
  );
}

function tracesNote(data: ReportData): string {
  const t = data.traces;
  if (!t.found) {
    return (
      `<p class="note">No per-request traces: <code>${escapeHtml(t.file)}</code> was not found beside the ` +
      `result, so the latency CDFs and the time series are left out. The percentile bars and sweep ` +
      `curves come from the result file.</p>`
    );
  }
  return t.unmatched > 0
    ? `<p class="note">${t.unmatched} of ${t.lines} trace lines belong to no workload × runtime of the result and are left out.</p>`
    : "";
}

const CSS = `
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; background: #fff; margin: 0 auto; padding: 16px 24px 48px; max-width: 1400px; }
h1 { font-size: 22px; margin: 8px 0; } h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 16px; margin: 20px 0 6px; } h4 { font-size: 14px; margin: 12px 0 4px; }
dl.meta { display: flex; flex-wrap: wrap; gap: 4px 24px; margin: 8px 0; } dl.meta dt { color: #666; font-size: 12px; } dl.meta dd { margin: 0; }
.badge { padding: 1px 8px; border-radius: 10px; font-weight: 600; } .badge.ok { background: #e3f4e6; color: #17612a; } .badge.bad { background: #fde2e1; color: #9b1c1c; }
.banner { background: #fde2e1; color: #9b1c1c; border: 1px solid #f1a7a4; padding: 8px 12px; border-radius: 4px; font-weight: 600; }
.note { background: #fff8e1; border: 1px solid #f0d98c; padding: 8px 12px; border-radius: 4px; }
.scroll { overflow-x: auto; } table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 8px; border-bottom: 1px solid #eee; text-align: right; white-space: nowrap; } th { background: #f6f6f6; font-weight: 600; }
td.name, th:first-child { text-align: left; } td.name { white-space: normal; word-break: break-word; }
table.summary td.name { white-space: nowrap; } table.summary th { white-space: normal; }
table.kv th { text-align: left; }
.dim { color: #666; } .bad { color: #b91c1c; font-weight: 600; } .warn { color: #b45309; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 12px 20px; }
figure.chart { margin: 0; } figure.chart figcaption { font-weight: 600; margin-bottom: 2px; }
.plot { position: relative; height: 260px; }
pre { background: #f6f6f6; padding: 8px 12px; overflow: auto; max-height: 480px; font-size: 12px; }
ul.warnings li { margin: 2px 0; }
`;

/** The whole page. `library` is inlined as it is (see assets.ts). */
export function renderReport(data: ReportData, library: ChartLibrary): string {
  const colors = new RuntimeColors();
  for (const r of data.rows) colors.of(r.runtime);
  const charts = new ChartPlacer();

  const workloads = data.workloads.map((section) => {
    const c = workloadCharts(section, colors);
    const parts = [`<section class="workload"><h3>${escapeHtml(section.name)}</h3>`];
    if (section.sweepOf !== undefined)
      parts.push(`<p class="dim">a stage of the sweep ${escapeHtml(section.sweepOf)}</p>`);
    if (c.cdfs.length > 0) parts.push(`<h4>Latency CDFs</h4>${charts.grid(c.cdfs)}`);
    if (c.percentiles.length > 0) parts.push(`<h4>Percentiles</h4>${charts.grid(c.percentiles)}`);
    if (c.timelines.length > 0) parts.push(`<h4>Over time</h4>${charts.grid(c.timelines)}`);
    if (section.breakdowns !== undefined) parts.push(breakdownTables(section.breakdowns));
    if (c.cdfs.length + c.percentiles.length + c.timelines.length === 0)
      parts.push(`<p class="dim">No latency values to chart (no request succeeded).</p>`);
    parts.push(errorTable(section), "</section>");
    return parts.join("");
  });

  const sweepsByWorkload = new Map<string, SweepSection[]>();
  for (const s of data.sweeps)
    sweepsByWorkload.set(s.workload, [...(sweepsByWorkload.get(s.workload) ?? []), s]);
  const sweeps = [...sweepsByWorkload].map(
    ([name, list]) =>
      `<section class="sweep"><h3>${escapeHtml(name)}</h3><ul>${list.map(sweepText).join("")}</ul>` +
      `${charts.grid(sweepCharts(list, colors))}</section>`,
  );

  const warnings =
    data.warnings.length === 0
      ? `<p class="dim">none</p>`
      : `<ul class="warnings">${data.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join("")}</ul>`;

  const title = `TokenForge report: ${data.run.model ?? "unknown model"} (${data.run.id})`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
${header(data, library)}
<h2>Summary</h2>
${summaryTable(data.rows)}
${tracesNote(data)}
<h2>Workloads</h2>
${workloads.join("\n")}
${sweeps.length > 0 ? `<h2>Sweeps</h2>\n${sweeps.join("\n")}` : ""}
<h2>Warnings</h2>
${warnings}
<h2>Configuration</h2>
${pre(data.config)}
<h2>Targets</h2>
${pre(data.targets)}
<h2>Environment</h2>
${keyValues(data.environment)}
<h2>Calibration</h2>
${keyValues(data.calibration)}
<script type="application/json" id="report-data">${jsonForScript({ charts: charts.specs })}</script>
<script>${library.js}</script>
<script>${CLIENT_SCRIPT}</script>
</body>
</html>
`;
}
