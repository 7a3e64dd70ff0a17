/**
 * The site's pictures as inline SVG, drawn when the page is written: no script, no font or file
 * fetched at view time, readable with scripts off. A line chart (one series per engine, markers
 * at each measured point) and a horizontal bar chart. Legends are one item per row below the
 * plot, the text starting past its colour box, so no label can run into another's box.
 */
import { escapeHtml } from "../report/html-escape.js";

/** Engine colours (colour-blind safe, Okabe–Ito), in order of first appearance. */
export const PALETTE = [
  "#0072b2",
  "#e69f00",
  "#009e73",
  "#cc79a7",
  "#d55e00",
  "#56b4e9",
  "#f0e442",
  "#000000",
];

export interface LineSeries {
  label: string;
  color: string;
  points: { x: number; y: number; title: string; emphasis?: boolean }[];
}

export interface Bar {
  label: string;
  value: number;
  color: string;
  /** Drawn hatched and said in the label: e.g. a cost measured below capacity. */
  muted?: boolean;
  title: string;
}

const W = 640;
/** The hatch pattern's id: one per chart, as ids are unique in a page. */
const hatch = (chartId: string) => `${chartId}-hatch`;
const FONT = 12;
const ROW = 18;
const BOX = 12;
const M = { left: 64, right: 16, top: 28, bottom: 44 };

const fmt = (v: number) =>
  v === 0
    ? "0"
    : Math.abs(v) >= 1000
      ? `${+(v / 1000).toPrecision(3)}k`
      : Math.abs(v) >= 1
        ? `${+v.toPrecision(3)}`
        : `${+v.toPrecision(2)}`;

/** Up to `n` round tick values from 0 to at least `max`. */
export function ticks(max: number, n = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = 0; v < max + step / 2; v += step) out.push(+v.toPrecision(12));
  if (out[out.length - 1]! < max) out.push(+(out[out.length - 1]! + step).toPrecision(12));
  return out;
}

function legend(id: string, items: { label: string; color: string; muted?: boolean }[], top: number): string {
  return items
    .map((it, i) => {
      const y = top + i * ROW;
      return `<g class="legend-item"><rect class="legend-box" x="${M.left}" y="${y}" width="${BOX}" height="${BOX}" fill="${it.muted ? `url(#${hatch(id)})` : it.color}" stroke="${it.color}"/><text class="legend-text" x="${M.left + BOX + 6}" y="${y + BOX - 2}">${escapeHtml(it.label)}</text></g>`;
    })
    .join("");
}

function frame(id: string, title: string, height: number, body: string): string {
  return `<figure class="site-chart"><svg id="${escapeHtml(id)}" role="img" aria-label="${escapeHtml(title)}" viewBox="0 0 ${W} ${height}" width="${W}" height="${height}" font-family="system-ui,sans-serif" font-size="${FONT}">
<title>${escapeHtml(title)}</title>
<defs><pattern id="${hatch(id)}" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff"/><line x1="0" y1="0" x2="0" y2="6" stroke="#999" stroke-width="3"/></pattern></defs>
<text x="${M.left}" y="16" font-weight="600">${escapeHtml(title)}</text>
${body}</svg></figure>`;
}

/** A line chart of `series` (markers at each point, an emphasised point drawn larger). */
export function lineChart(o: {
  id: string;
  title: string;
  xTitle: string;
  yTitle: string;
  series: LineSeries[];
}): string {
  const all = o.series.flatMap((s) => s.points);
  const xs = ticks(Math.max(...all.map((p) => p.x), 0));
  const ys = ticks(Math.max(...all.map((p) => p.y), 0));
  const plotH = 240;
  const plotW = W - M.left - M.right;
  const sx = (x: number) => M.left + (x / xs[xs.length - 1]!) * plotW;
  const sy = (y: number) => M.top + plotH - (y / ys[ys.length - 1]!) * plotH;
  const grid = [
    ...ys.map(
      (v) =>
        `<line x1="${M.left}" x2="${M.left + plotW}" y1="${sy(v)}" y2="${sy(v)}" stroke="#e5e5e5"/><text x="${M.left - 6}" y="${sy(v) + 4}" text-anchor="end">${fmt(v)}</text>`,
    ),
    ...xs.map((v) => `<text x="${sx(v)}" y="${M.top + plotH + 16}" text-anchor="middle">${fmt(v)}</text>`),
    `<line x1="${M.left}" x2="${M.left + plotW}" y1="${sy(0)}" y2="${sy(0)}" stroke="#888"/>`,
    `<text x="${M.left + plotW / 2}" y="${M.top + plotH + 34}" text-anchor="middle">${escapeHtml(o.xTitle)}</text>`,
    `<text transform="translate(14 ${M.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeHtml(o.yTitle)}</text>`,
  ].join("");
  const lines = o.series
    .map((s) => {
      const pts = [...s.points].sort((a, b) => a.x - b.x);
      const path = pts
        .map((p, i) => `${i === 0 ? "M" : "L"}${sx(p.x).toFixed(1)} ${sy(p.y).toFixed(1)}`)
        .join("");
      const dots = pts
        .map(
          (p) =>
            `<circle class="point" cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="${p.emphasis ? 6 : 3.5}" fill="${p.emphasis ? "#fff" : s.color}" stroke="${s.color}" stroke-width="2"><title>${escapeHtml(p.title)}</title></circle>`,
        )
        .join("");
      return `<g class="series"><path d="${path}" fill="none" stroke="${s.color}" stroke-width="2"/>${dots}</g>`;
    })
    .join("");
  const legendTop = M.top + plotH + M.bottom;
  const height = legendTop + o.series.length * ROW + 8;
  return frame(o.id, o.title, height, grid + lines + legend(o.id, o.series, legendTop));
}

/** A horizontal bar chart, one bar per row, its value written past its end. */
export function barChart(o: { id: string; title: string; xTitle: string; bars: Bar[] }): string {
  const labelW = 260;
  const plotW = W - labelW - M.right - 56;
  const xs = ticks(Math.max(...o.bars.map((b) => b.value), 0), 4);
  const sx = (x: number) => labelW + (x / xs[xs.length - 1]!) * plotW;
  const barH = 18;
  const gap = 8;
  const top = M.top;
  const rows = o.bars
    .map((b, i) => {
      const y = top + i * (barH + gap);
      return `<g class="bar"><text x="${labelW - 8}" y="${y + barH - 5}" text-anchor="end">${escapeHtml(b.label)}</text><rect x="${labelW}" y="${y}" width="${Math.max(1, sx(b.value) - labelW).toFixed(1)}" height="${barH}" fill="${b.muted ? `url(#${hatch(o.id)})` : b.color}" stroke="${b.color}"><title>${escapeHtml(b.title)}</title></rect><text x="${(sx(b.value) + 4).toFixed(1)}" y="${y + barH - 5}">${escapeHtml(fmtValue(b.value))}</text></g>`;
    })
    .join("");
  const axisY = top + o.bars.length * (barH + gap);
  const axis = [
    ...xs.map(
      (v) =>
        `<line x1="${sx(v)}" x2="${sx(v)}" y1="${top - 4}" y2="${axisY}" stroke="#eee"/><text x="${sx(v)}" y="${axisY + 14}" text-anchor="middle">${fmt(v)}</text>`,
    ),
    `<text x="${labelW + plotW / 2}" y="${axisY + 32}" text-anchor="middle">${escapeHtml(o.xTitle)}</text>`,
  ].join("");
  const muted = o.bars.some((b) => b.muted);
  const legendTop = axisY + 44;
  const key = muted
    ? legend(
        o.id,
        [{ label: "hatched: measured below capacity (includes idle time)", color: "#999", muted: true }],
        legendTop,
      )
    : "";
  return frame(o.id, o.title, legendTop + (muted ? ROW : 0) + 8, axis + rows + key);
}

const fmtValue = (v: number) => (v < 0.01 ? `$${v.toPrecision(2)}` : `$${v.toFixed(2)}`);
