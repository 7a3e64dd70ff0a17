/**
 * Exact statistics over numeric samples: percentiles with linear interpolation between the
 * closest ranks (numpy's default, `method="linear"`), mean, sample standard deviation, and the
 * summary every latency metric is reported as. Inputs are typed arrays so that 100k-request runs
 * reduce without an object per value.
 */

/** One metric's distribution. Only built from at least one value: a metric with none is absent. */
export interface Summary {
  count: number;
  mean: number;
  /** Sample standard deviation (n − 1 in the denominator); 0 for a single value. */
  stdev: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
  min: number;
}

/** A growable typed array: push values in one pass, then view them without copying. */
class GrowableArray<A extends Float64Array | Float32Array> {
  private buf: A;
  private n = 0;

  constructor(
    private readonly make: (length: number) => A,
    initialCapacity: number,
  ) {
    this.buf = make(Math.max(1, initialCapacity));
  }

  get length(): number {
    return this.n;
  }

  push(value: number): void {
    if (this.n === this.buf.length) {
      const grown = this.make(this.buf.length * 2);
      grown.set(this.buf);
      this.buf = grown;
    }
    this.buf[this.n++] = value;
  }

  /** The pushed values (a view: later pushes may or may not show through; sort it in place freely). */
  view(): A {
    return this.buf.subarray(0, this.n) as A;
  }
}

export class Float64Buffer extends GrowableArray<Float64Array> {
  constructor(initialCapacity = 256) {
    super((n) => new Float64Array(n), initialCapacity);
  }
}

/**
 * Half the memory of a Float64Buffer, for values that need no more than float32's 24-bit
 * mantissa: gaps between chunks (1 ns resolution at 10 ms), offsets within a run (0.25 ms after
 * an hour).
 */
export class Float32Buffer extends GrowableArray<Float32Array> {
  constructor(initialCapacity = 256) {
    super((n) => new Float32Array(n), initialCapacity);
  }
}

/**
 * The `p`-th percentile (0..100) of ascending-sorted values, interpolating linearly between the
 * two closest ranks: rank h = (n − 1)·p/100, value = x[⌊h⌋] + (h − ⌊h⌋)·(x[⌊h⌋+1] − x[⌊h⌋]).
 * This is numpy's `np.percentile(x, p)` default. Undefined for an empty array.
 */
export function percentile(sorted: ArrayLike<number>, p: number): number | undefined {
  const n = sorted.length;
  if (n === 0) return undefined;
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100, got ${p}`);
  const h = ((n - 1) * p) / 100;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  return a + (h - lo) * (b - a);
}

/** Arithmetic mean; undefined for no values. */
export function mean(values: ArrayLike<number>): number | undefined {
  const n = values.length;
  if (n === 0) return undefined;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i]!;
  return sum / n;
}

/** Sample standard deviation (n − 1); 0 for one value, undefined for none. Two-pass for accuracy. */
export function stdev(values: ArrayLike<number>, knownMean?: number): number | undefined {
  const n = values.length;
  if (n === 0) return undefined;
  if (n === 1) return 0;
  const m = knownMean ?? mean(values)!;
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const d = values[i]! - m;
    ss += d * d;
  }
  return Math.sqrt(ss / (n - 1));
}

/**
 * Summarizes values; undefined when there are none (a summary over zero values is absent, never
 * zeros). A Float64Array or Float32Array is sorted in place (pass a copy to keep its order); any
 * other array-like is copied first.
 */
export function summarize(values: Float64Array | Float32Array | ArrayLike<number>): Summary | undefined {
  const n = values.length;
  if (n === 0) return undefined;
  const sorted =
    values instanceof Float64Array || values instanceof Float32Array ? values : Float64Array.from(values);
  sorted.sort();
  const m = mean(sorted)!;
  return {
    count: n,
    mean: m,
    stdev: stdev(sorted, m)!,
    p50: percentile(sorted, 50)!,
    p90: percentile(sorted, 90)!,
    p95: percentile(sorted, 95)!,
    p99: percentile(sorted, 99)!,
    max: sorted[n - 1]!,
    min: sorted[0]!,
  };
}

/**
 * The standard normal quantile: the z with P(Z ≤ z) = p, for p in (0, 1). Found by bisection on
 * Φ(z) = (1 + erf(z/√2)) / 2, with erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5·10⁻⁷), which
 * is far finer than any confidence level a benchmark states.
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`probability must be in (0, 1), got ${p}`);
  let lo = -10;
  let hi = 10;
  for (let i = 0; i < 80; i++) {
    const mid = (lo + hi) / 2;
    if (normalCdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly =
    t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/**
 * The Wilson score interval of a binomial proportion: `successes` of `trials` at two-sided
 * `confidence` (e.g. 0.95). Unlike the normal approximation it stays inside [0, 1] and is not
 * zero-width at 0 % or 100 %: 100 of 100 at 95 % gives [0.963, 1].
 */
export function wilsonInterval(successes: number, trials: number, confidence: number): [number, number] {
  if (trials <= 0) return [0, 1];
  const z = normalQuantile(1 - (1 - confidence) / 2);
  const p = successes / trials;
  const z2 = z * z;
  const denom = 1 + z2 / trials;
  const centre = (p + z2 / (2 * trials)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials))) / denom;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}
