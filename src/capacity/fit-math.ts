/**
 * The arithmetic of fitting the performance model: a constrained weighted least-squares line,
 * the median, and counts in sorted arrays (how many values lie below or at a time).
 */
import { percentile } from "../bench/stats.js";

export function countBelow(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function countAtMost(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Weighted least squares `y = intercept + slope·x`, constrained to intercept ≥ 0 and slope ≥ 0
 * (a negative step time or a batch that speeds each sequence up is not a model of an engine).
 */
export function weightedLine(points: Array<{ x: number; y: number; w: number }>): {
  intercept: number;
  slope: number;
} {
  let sw = 0;
  let sx = 0;
  let sy = 0;
  for (const p of points) {
    sw += p.w;
    sx += p.w * p.x;
    sy += p.w * p.y;
  }
  const mx = sx / sw;
  const my = sy / sw;
  let sxx = 0;
  let sxy = 0;
  for (const p of points) {
    sxx += p.w * (p.x - mx) ** 2;
    sxy += p.w * (p.x - mx) * (p.y - my);
  }
  let slope = sxx > 0 ? sxy / sxx : 0;
  let intercept = my - slope * mx;
  if (slope < 0) {
    slope = 0;
    intercept = my;
  } else if (intercept < 0) {
    // Through the origin.
    let num = 0;
    let den = 0;
    for (const p of points) {
      num += p.w * p.x * p.y;
      den += p.w * p.x * p.x;
    }
    intercept = 0;
    slope = den > 0 ? num / den : 0;
  }
  return { intercept: Math.max(intercept, 0), slope };
}

export function median(v: number[]): number {
  return percentile(Float64Array.from(v).sort(), 50) ?? Number.NaN;
}
