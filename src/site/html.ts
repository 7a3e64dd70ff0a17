/**
 * The site's two pages, self-contained (no script or style fetched at view time): `index.html`
 * with the headline per model and engine, and `benchmark-results.html` with every run kept. All
 * text is escaped; the data is embedded as JSON that cannot close its script element.
 */

import { amortizedHourly, HOURS_PER_YEAR } from "../bench/cost.js";
import type { CostProfile } from "../bench/types.js";
import { escapeHtml, jsonForScript } from "../report/html-escape.js";
import { headline, type SiteData, type SiteEntry } from "./data.js";

const num = (x: number | undefined, digits = 1) =>
  x === undefined ? "–" : x >= 100 ? x.toFixed(0) : x.toFixed(digits);
const usd = (x: number | undefined) =>
  x === undefined ? "–" : x < 0.01 ? `$${x.toPrecision(2)}` : `$${x.toFixed(2)}`;

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1d1d1f}
table{border-collapse:collapse;width:100%;margin:1rem 0}th,td{padding:.35rem .6rem;border-bottom:1px solid #ddd;text-align:right}
th:first-child,td:first-child,th.l,td.l{text-align:left}th{background:#f4f4f6}code{background:#f4f4f6;padding:0 .25rem}
.note{color:#555;font-size:.9em}.incomplete{color:#b45309}`;

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
export function costArithmetic(cost: (CostProfile & { source: string }) | undefined): string {
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
  return `<p>Costs use <code>${escapeHtml(cost.source)}</code>: ${escapeHtml(how)}, <b>$${cost.dollarsPerHour.toFixed(4)} per hour</b>.
Cost per 1M tokens = $/hour × 10⁶ / (tokens/s × 3600), with prefill (input) and decode (output) tokens/s
measured by the benchmark from the server's own token counts.</p>`;
}

function rows(entries: SiteEntry[], withRun: boolean): string {
  return entries
    .map(
      (e) => `<tr${e.status !== "complete" ? ' class="incomplete"' : ""}>
<td>${escapeHtml(e.model)}</td><td class=l>${escapeHtml(e.engine)}</td><td class=l>${escapeHtml(e.workload)}</td>${withRun ? `<td class=l>${escapeHtml(e.runId)}${e.status !== "complete" ? ` (${escapeHtml(e.status)})` : ""}</td><td class=l>${escapeHtml(e.date.slice(0, 19).replace("T", " "))}</td>` : ""}
<td>${num(e.prefillTokensPerS)}</td><td>${num(e.decodeTokensPerS)}</td><td>${num(e.ttftP50Ms)}</td><td>${num(e.tpotP50Ms, 2)}</td>
<td>${usd(e.cost?.per1MInput)}</td><td>${usd(e.cost?.per1MOutput)}</td><td class=l>${escapeHtml(e.hardware)}</td></tr>`,
    )
    .join("\n");
}

function table(entries: SiteEntry[], withRun: boolean): string {
  return `<table><thead><tr><th>model</th><th class=l>engine</th><th class=l>workload</th>${withRun ? "<th class=l>run</th><th class=l>date (UTC)</th>" : ""}
<th>prefill tok/s</th><th>decode tok/s</th><th>TTFT p50 ms</th><th>TPOT p50 ms</th><th>$ / 1M input</th><th>$ / 1M output</th><th class=l>hardware</th></tr></thead>
<tbody>${rows(entries, withRun)}</tbody></table>`;
}

export function indexPage(site: SiteData): string {
  const latest = headline(site);
  return page(
    "TokenForge benchmark results",
    `<h1>TokenForge benchmark results</h1>
<p>The newest run per model and engine. Every figure comes from the benchmark's own measurement
(open-loop load, token counts from the servers' usage); history and every run are on
<a href="benchmark-results.html">benchmark-results.html</a>, data in
<a href="benchmark-results.json">benchmark-results.json</a>.</p>
${table(latest, false)}
${costArithmetic(site.costProfile)}
<p class=note>Published ${escapeHtml(site.generatedAt)} by TokenForge; ${site.entries.length} results kept (the last ${site.history} runs per model and engine).</p>`,
    site,
  );
}

export function resultsPage(site: SiteData): string {
  return page(
    "TokenForge benchmark results: every run",
    `<h1>Every run</h1><p><a href="index.html">Headline</a> · <a href="benchmark-results.json">JSON</a></p>
${table(site.entries, true)}
${costArithmetic(site.costProfile)}`,
    site,
  );
}
