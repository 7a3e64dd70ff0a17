/**
 * How a number reads in every table TokenForge prints or serves (terminal, HTML report, web UI):
 * precision that suits its size, and "–" for a value that is absent. Imports nothing, so the
 * browser bundle shares it.
 */

export const ABSENT = "–";

/** A number with precision that suits its size; "–" when absent. */
export function formatValue(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return ABSENT;
  const a = Math.abs(v);
  if (a >= 1000) return v.toFixed(0);
  if (a >= 100) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  if (a === 0) return "0";
  return v.toFixed(3);
}
