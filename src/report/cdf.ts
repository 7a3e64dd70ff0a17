/**
 * Empirical CDF curves, downsampled from the exact sorted values so that a report of any size
 * draws at most `MAX_CURVE_POINTS` points per curve.
 */

/** Points per curve in the report. */
export const MAX_CURVE_POINTS = 200;

/** One CDF: `x` ascending values (ms), `y` the fraction of values ≤ x; `count` values in all. */
export interface Curve {
  x: number[];
  y: number[];
  count: number;
}

const round = (v: number, digits: number) => {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};

/**
 * The ECDF of ascending-sorted `values`: the point of rank i (0-based) is (values[i], (i + 1) / n).
 * With more than `max` values, `max` ranks spaced evenly from the first to the last are kept, so
 * the minimum, the maximum and the shape survive. x is rounded to 1 µs, y to 10⁻⁴. Undefined for
 * no values (unknown is never drawn as zero).
 */
export function cdfCurve(values: ArrayLike<number>, max = MAX_CURVE_POINTS): Curve | undefined {
  const n = values.length;
  if (n === 0) return undefined;
  if (max < 2) throw new RangeError(`a curve needs at least 2 points, got ${max}`);
  const x: number[] = [];
  const y: number[] = [];
  const points = Math.min(n, max);
  for (let k = 0; k < points; k++) {
    const i = points === n ? k : Math.round((k * (n - 1)) / (points - 1));
    x.push(round(values[i]!, 3));
    y.push(round((i + 1) / n, 4));
  }
  return { x, y, count: n };
}
