/**
 * The site's two pages, self-contained (no script or style fetched at view time): `index.html`
 * with the headline per model and engine, and `benchmark-results.html` with every run kept. All
 * text is escaped; the data is embedded as JSON that cannot close its script element.
 */

import { amortizedHourly, HOURS_PER_YEAR } from "../bench/cost.js";
import type { PricedCost } from "../bench/cost-profile.js";
import { escapeHtml, jsonForScript } from "../report/html-escape.js";
import { headline, type SiteData, type SiteEntry } from "./data.js";
import { type Bar, barChart, type LineSeries, lineChart, PALETTE } from "./svg.js";

const num = (x: number | undefined, digits = 1) =>
  x === undefined ? "–" : x >= 100 ? x.toFixed(0) : x.toFixed(digits);
const usd = (x: number | undefined) =>
  x === undefined ? "–" : x < 0.01 ? `$${x.toPrecision(2)}` : `$${x.toFixed(2)}`;

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1d1d1f}
table{border-collapse:collapse;width:100%;margin:1rem 0}th,td{padding:.35rem .6rem;border-bottom:1px solid #ddd;text-align:right}
th:first-child,td:first-child,th.l,td.l{text-align:left}th{background:#f4f4f6}code{background:#f4f4f6;padding:0 .25rem}
.note{color:#555;font-size:.9em}.incomplete{color:#b45309}.low{color:#b45309}.mismatch{color:#b91c1c;font-weight:600}
.banner{background:#fde2e1;color:#9b1c1c;border:1px solid #f1a7a4;padding:.5rem .8rem;border-radius:4px}
.charts{display:flex;flex-wrap:wrap;gap:1rem 2rem}figure.site-chart{margin:0}`;

function page(title: string, body: string, data: SiteData): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>${body}
<script type="application/json" id="tokenforge-site-data">${jsonForScript(data)}</script>
</body></html>
`;
}

/** How the hourly price was reached, written out with the profile's own numbers. */
export function costArithmetic(cost: (PricedCost & { source: string }) | undefined): string {
  if (!cost)
    return "<p class=note>No cost profile was given: publish with <code>--cost PROFILE</code> to price every run.</p>";
  const b = cost.breakdown;
  let how: string;
  if (b.hourly !== undefined) {
    how = `$${b.hourly}/hour, as the profile states`;
  } else {
    const { hardware: hw, energy } = amortizedHourly({
      price: b.price ?? 0,
      amortizationYears: b.amortizationYears ?? 1,
      utilization: b.utilization ?? 1,
      powerWatts: b.powerWatts ?? 0,
      dollarsPerKwh: b.dollarsPerKwh ?? 0,
    });
    how =
      `$${b.price} / (${b.amortizationYears} years × ${HOURS_PER_YEAR} h × ${b.utilization} utilization) = $${hw.toFixed(4)}/h for the hardware, ` +
      `+ ${b.powerWatts} W / 1000 × $${b.dollarsPerKwh}/kWh = $${energy.toFixed(4)}/h for energy`;
  }
  const h = cost.hardware;
  const machine =
    h === undefined
      ? "The profile names no hardware, so it was not checked against the machines the runs recorded."
      : `The profile prices ${[
          h.gpus === undefined ? undefined : `${h.gpus} GPU${h.gpus === 1 ? "" : "s"}`,
          h.gpu === undefined ? undefined : `${h.gpu}`,
          h.cpu === undefined ? undefined : `a ${h.cpu} CPU`,
        ]
          .filter((x) => x !== undefined)
          .join(", ")}; every run was checked against the machine it recorded.`;
  return `<p>Costs use <code>${escapeHtml(cost.source)}</code>: ${escapeHtml(how)}, <b>$${cost.dollarsPerHour.toFixed(4)} per hour</b>.
Cost per 1M tokens = $/hour × 10⁶ / (tokens/s × 3600), with prefill (input) and decode (output) tokens/s
measured by the benchmark from the server's own token counts. ${escapeHtml(machine)}</p>
<p class=note>A cost is that of the load it was measured at: the hour is paid whether the server is busy or
idle, so a run at a low rate prices mostly idle time. The headline takes capacity points (the highest rate
meeting the SLOs in a sweep, or a saturating load) and marks anything else as below capacity.</p>`;
}

/** What the load column says: the load, and whether it is a capacity point. */
function loadCell(e: SiteEntry): string {
  const l = e.load;
  if (l === undefined) return `<td class="l low" title="published before loads were recorded">unknown</td>`;
  const what =
    l.kind === "rate"
      ? `${num(l.offeredRps, 2)} req/s`
      : l.kind === "closed"
        ? `${l.concurrency} in flight`
        : l.kind === "burst"
          ? "all at once"
          : l.kind;
  const tag =
    l.point === "slo-capacity"
      ? " · capacity (SLO)"
      : l.point === "saturation"
        ? " · saturated"
        : l.point === "partial"
          ? " · below capacity"
          : "";
  const cls = l.point === "partial" || l.point === "unknown" ? "l low" : "l";
  return `<td class="${cls}" title="${escapeHtml(l.note)}">${escapeHtml(what + tag)}</td>`;
}

function costCell(e: SiteEntry, x: number | undefined): string {
  if (e.costMismatch !== undefined)
    return `<td class=mismatch title="${escapeHtml(e.costMismatch)}">${usd(x)} ⚠</td>`;
  const low = e.load === undefined || e.load.point === "partial" || e.load.point === "unknown";
  return low && x !== undefined
    ? `<td class=low title="measured below capacity: the hour includes idle time">${usd(x)}*</td>`
    : `<td>${usd(x)}</td>`;
}

function rows(entries: SiteEntry[], withRun: boolean): string {
  return entries
    .map(
      (e) => `<tr${e.status !== "complete" ? ' class="incomplete"' : ""}>
<td>${escapeHtml(e.model)}</td><td class=l>${escapeHtml(e.engine)}</td><td class=l>${escapeHtml(e.workload)}</td>${withRun ? `<td class=l>${escapeHtml(e.runId)}${e.status !== "complete" ? ` (${escapeHtml(e.status)})` : ""}</td><td class=l>${escapeHtml(e.date.slice(0, 19).replace("T", " "))}</td>` : ""}
${loadCell(e)}<td>${num(e.prefillTokensPerS)}</td><td>${num(e.decodeTokensPerS)}</td><td>${num(e.ttftP50Ms)}</td><td>${num(e.tpotP50Ms, 2)}</td>
${costCell(e, e.cost?.per1MInput)}${costCell(e, e.cost?.per1MOutput)}<td class=l>${escapeHtml(e.hardware)}</td></tr>`,
    )
    .join("\n");
}

function table(entries: SiteEntry[], withRun: boolean): string {
  return `<table><thead><tr><th>model</th><th class=l>engine</th><th class=l>workload</th>${withRun ? "<th class=l>run</th><th class=l>date (UTC)</th>" : ""}
<th class=l>load</th><th>prefill tok/s</th><th>decode tok/s</th><th>TTFT p50 ms</th><th>TPOT p50 ms</th><th>$ / 1M input</th><th>$ / 1M output</th><th class=l>hardware</th></tr></thead>
<tbody>${rows(entries, withRun)}</tbody></table>`;
}

/** Engine colours by key, in order of first appearance. */
function colours(entries: SiteEntry[]): (key: string) => string {
  const keys = [...new Set(entries.map((e) => e.key))];
  return (key) => PALETTE[keys.indexOf(key) % PALETTE.length]!;
}

const short = (s: string, n = 40) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/**
 * Throughput against latency per engine: each key's newest sweep, output tokens/s against TTFT
 * p50 at every measured rate, its capacity point drawn larger. Undefined with no sweep.
 */
export function sweepChart(site: SiteData): string | undefined {
  const colour = colours(site.entries);
  const series: LineSeries[] = [];
  for (const key of new Set(site.entries.map((e) => e.key))) {
    const e = site.entries.find((x) => x.key === key && x.curve !== undefined);
    if (e?.curve === undefined) continue;
    const points = e.curve
      .filter((c) => c.outputTokensPerS !== undefined && c.ttftP50Ms !== undefined)
      .map((c) => ({
        x: c.outputTokensPerS!,
        y: c.ttftP50Ms!,
        title: `${c.label}: ${num(c.outputTokensPerS)} output tok/s, TTFT p50 ${num(c.ttftP50Ms)} ms${c.achievedRps === undefined ? "" : `, ${num(c.achievedRps, 2)} req/s`}`,
        emphasis: c.offeredRps !== undefined && c.offeredRps === e.load?.offeredRps,
      }));
    if (points.length === 0) continue;
    series.push({ label: `${key} (${e.workload}, run ${e.runId})`, color: colour(key), points });
  }
  if (series.length === 0) return undefined;
  return lineChart({
    id: "chart-throughput-latency",
    title: "Throughput against latency, per engine (newest sweep; ringed: capacity point)",
    xTitle: "output tokens / s",
    yTitle: "TTFT p50 (ms)",
    series,
  });
}

/** $ per 1M output tokens per engine and workload, from the headline entries that have a cost. */
export function costChart(entries: SiteEntry[], all: SiteEntry[]): string | undefined {
  const colour = colours(all);
  const bars: Bar[] = entries
    .filter((e) => e.cost?.per1MOutput !== undefined)
    .map((e) => {
      const low = e.load === undefined || e.load.point === "partial" || e.load.point === "unknown";
      return {
        label: short(`${e.engine} · ${e.workload}${low ? " *" : ""}`),
        value: e.cost!.per1MOutput!,
        color: colour(e.key),
        ...(low ? { muted: true } : {}),
        title: `${e.key}, ${e.workload}: ${usd(e.cost!.per1MOutput)} per 1M output tokens; ${e.load?.note ?? "load not recorded"}${e.costMismatch ? `; ${e.costMismatch}` : ""}`,
      };
    });
  if (bars.length === 0) return undefined;
  return barChart({
    id: "chart-cost",
    title: "$ per 1M output tokens, per engine",
    xTitle: "$ per 1M output tokens",
    bars,
  });
}

function pictures(shown: SiteEntry[], site: SiteData): string {
  const charts = [sweepChart(site), costChart(shown, site.entries)].filter((c) => c !== undefined);
  return charts.length === 0 ? "" : `<div class=charts>${charts.join("\n")}</div>`;
}

/** Said above everything when costs were published against another machine's price. */
function mismatchBanner(site: SiteData): string {
  const n = site.entries.filter((e) => e.costMismatch !== undefined);
  if (n.length === 0) return "";
  const reasons = [...new Set(n.map((e) => e.costMismatch!))];
  return `<p class=banner>Costs marked ⚠ were priced with <code>${escapeHtml(site.costProfile?.source ?? "")}</code>, a profile for other hardware (published with --force): ${escapeHtml(reasons.join("; "))}. They are not what this hardware costs.</p>`;
}

function lowLoadNote(entries: SiteEntry[]): string {
  const low = entries.filter(
    (e) => e.load === undefined || e.load.point === "partial" || e.load.point === "unknown",
  );
  if (low.length === 0) return "";
  return `<p class="note low">* measured below capacity (or at a load not recorded): ${escapeHtml(
    [...new Set(low.map((e) => `${e.key}, ${e.workload}: ${e.load?.note ?? "load not recorded"}`))].join(
      "; ",
    ),
  )}. Run a sweep (<code>sweep: {search: {}}</code> with an SLO) to publish the cost at capacity.</p>`;
}

export function indexPage(site: SiteData): string {
  const latest = headline(site);
  return page(
    "TokenForge benchmark results",
    `<h1>TokenForge benchmark results</h1>
<p>Per model and engine, the newest capacity point: the highest rate meeting the SLOs in a sweep, or a
saturating load (the newest run, marked below capacity, where none was measured). Every figure comes from
the benchmark's own measurement (token counts from the servers' usage); history and every run are on
<a href="benchmark-results.html">benchmark-results.html</a>, data in
<a href="benchmark-results.json">benchmark-results.json</a>.</p>
${mismatchBanner(site)}
${table(latest, false)}
${lowLoadNote(latest)}
${pictures(latest, site)}
${costArithmetic(site.costProfile)}
<p class=note>Published ${escapeHtml(site.generatedAt)} by TokenForge; ${site.entries.length} results kept (the last ${site.history} runs per model and engine).</p>`,
    site,
  );
}

export function resultsPage(site: SiteData): string {
  return page(
    "TokenForge benchmark results: every run",
    `<h1>Every run</h1><p><a href="index.html">Headline</a> · <a href="benchmark-results.json">JSON</a></p>
${mismatchBanner(site)}
${table(site.entries, true)}
${lowLoadNote(site.entries)}
${costArithmetic(site.costProfile)}`,
    site,
  );
}
