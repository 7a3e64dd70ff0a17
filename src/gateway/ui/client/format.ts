/**
 * Numbers, percentages, times and durations as the views show them; anything absent or not a
 * finite number shows as "–".
 */

import { ABSENT, formatValue } from "../../../bench/format.js";

export { ABSENT };

/** A number with precision that suits its size (as the terminal tables write it). */
export function fmt(v: unknown): string {
  return typeof v === "number" ? formatValue(v) : ABSENT;
}

/** A percentage, "+" in front of a rise when signed. */
export function fmtPct(v: unknown, signed: boolean): string {
  if (typeof v !== "number" || !Number.isFinite(v)) return ABSENT;
  const s = Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(1);
  return `${signed && v > 0 ? "+" : ""}${s} %`;
}

/** An ISO time in the browser's locale; text that is no time shows as it is. */
export function fmtTime(iso: string | undefined): string {
  if (!iso) return ABSENT;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
}

/** How long a run took, or has taken so far. */
export function duration(run: { startedAt?: string; finishedAt?: string }): string {
  if (!run.startedAt) return ABSENT;
  const end = run.finishedAt ? Date.parse(run.finishedAt) : Date.now();
  const s = (end - Date.parse(run.startedAt)) / 1000;
  return Number.isFinite(s) ? `${fmt(s)} s` : ABSENT;
}
