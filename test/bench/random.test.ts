import { describe, expect, it } from "vitest";
import {
  arrivalOffsets,
  createRandom,
  type Random,
  SeededRandom,
  sampleDistribution,
  standardGamma,
} from "../../src/bench/random.js";
import type { Distribution } from "../../src/bench/types.js";
import { TokenForgeError } from "../../src/errors.js";

function draws(rng: Random, n: number): number[] {
  return Array.from({ length: n }, () => rng.next());
}

function gaps(offsets: Float64Array): number[] {
  const out: number[] = [];
  for (let i = 1; i < offsets.length; i++) out.push(offsets[i]! - offsets[i - 1]!);
  return out;
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function coefficientOfVariation(xs: number[]): number {
  const m = mean(xs);
  const variance = xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1);
  return Math.sqrt(variance) / m;
}

describe("SeededRandom", () => {
  it("repeats for a seed, across instances", () => {
    expect(draws(new SeededRandom(42), 1000)).toEqual(draws(new SeededRandom(42), 1000));
    expect(draws(createRandom(7, "arrival"), 100)).toEqual(draws(createRandom(7, "arrival"), 100));
  });

  it("gives the same values on every platform (golden values)", () => {
    // xoshiro128** is integer arithmetic only: these are the values, not an approximation.
    const rng = new SeededRandom(1);
    expect([rng.nextUint32(), rng.nextUint32(), rng.nextUint32()]).toEqual(GOLDEN_UINT32);
  });

  it("differs between seeds and between streams of one seed", () => {
    expect(draws(new SeededRandom(1), 10)).not.toEqual(draws(new SeededRandom(2), 10));
    expect(draws(createRandom(1, "a"), 10)).not.toEqual(draws(createRandom(1, "b"), 10));
  });

  it("draws uniform floats in [0, 1)", () => {
    const xs = draws(new SeededRandom(3), 100_000);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(mean(xs)).toBeCloseTo(0.5, 2);
    // Ten equal bins hold about a tenth each (±5 % of the expected 10,000).
    const bins = new Array<number>(10).fill(0);
    for (const x of xs) bins[Math.floor(x * 10)]!++;
    for (const b of bins) expect(Math.abs(b - 10_000)).toBeLessThan(500);
  });
});

/** Seed 1 through the same splitmix32 seeding and xoshiro128** steps, computed independently in Python. */
const GOLDEN_UINT32 = [2676593977, 637708015, 1952506144];

describe("sampleDistribution", () => {
  const rng = () => new SeededRandom(11);

  function sample(dist: Distribution, n = 20_000): number[] {
    const r = rng();
    return Array.from({ length: n }, () => sampleDistribution(dist, r));
  }

  it("returns a fixed value, never below 1", () => {
    expect(sample({ kind: "fixed", value: 64 }, 10)).toEqual(new Array(10).fill(64));
    expect(sampleDistribution({ kind: "fixed", value: 0 }, rng())).toBe(1);
  });

  it("draws uniform integers covering both ends", () => {
    const xs = sample({ kind: "uniform", min: 5, max: 9 });
    expect(xs.every((x) => Number.isInteger(x) && x >= 5 && x <= 9)).toBe(true);
    expect(new Set(xs)).toEqual(new Set([5, 6, 7, 8, 9]));
    expect(mean(xs)).toBeCloseTo(7, 1);
    expect(sample({ kind: "uniform", min: 3, max: 3 }, 10)).toEqual(new Array(10).fill(3));
  });

  it("draws rounded normal values clamped to min and max", () => {
    const xs = sample({ kind: "normal", mean: 100, stdev: 40, min: 50, max: 160 });
    expect(xs.every((x) => Number.isInteger(x) && x >= 50 && x <= 160)).toBe(true);
    expect(xs).toContain(50);
    expect(xs).toContain(160);
    const free = sample({ kind: "normal", mean: 1000, stdev: 50 });
    expect(mean(free)).toBeGreaterThan(995);
    expect(mean(free)).toBeLessThan(1005);
    expect(coefficientOfVariation(free) * 1000).toBeCloseTo(50, -1);
    // With no min, the floor is 1.
    expect(Math.min(...sample({ kind: "normal", mean: 2, stdev: 10 }))).toBe(1);
  });

  it("picks list values uniformly", () => {
    const xs = sample({ kind: "list", values: [8, 16, 32] }, 30_000);
    for (const v of [8, 16, 32]) {
      const share = xs.filter((x) => x === v).length / xs.length;
      expect(share).toBeGreaterThan(0.32);
      expect(share).toBeLessThan(0.35);
    }
  });

  it("is deterministic for a seed", () => {
    const dist: Distribution = { kind: "normal", mean: 50, stdev: 10 };
    expect(sample(dist, 100)).toEqual(sample(dist, 100));
  });
});

describe("arrivalOffsets", () => {
  it("starts at 0 and never goes back", () => {
    for (const arrival of [
      { kind: "poisson" },
      { kind: "constant" },
      { kind: "gamma", burstiness: 0.3 },
    ] as const) {
      const t = arrivalOffsets(arrival, 10, 1000, new SeededRandom(1));
      expect(t).toHaveLength(1000);
      expect(t[0]).toBe(0);
      for (let i = 1; i < t.length; i++) expect(t[i]!).toBeGreaterThanOrEqual(t[i - 1]!);
    }
    expect(arrivalOffsets({ kind: "poisson" }, 1, 0, new SeededRandom(1))).toHaveLength(0);
  });

  it("is identical for a seed and differs between seeds", () => {
    const a = arrivalOffsets({ kind: "poisson" }, 5, 500, createRandom(9, "arrival"));
    const b = arrivalOffsets({ kind: "poisson" }, 5, 500, createRandom(9, "arrival"));
    const c = arrivalOffsets({ kind: "poisson" }, 5, 500, createRandom(10, "arrival"));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it("spaces constant arrivals exactly 1000/qps apart", () => {
    const t = arrivalOffsets({ kind: "constant" }, 4, 10_001, new SeededRandom(1));
    expect(t[1]).toBe(250);
    expect(t[10_000]).toBe(2_500_000);
  });

  it("keeps the Poisson rate within 2 % over 10,000 gaps", () => {
    for (const [seed, qps] of [
      [1, 5],
      [2, 0.5],
      [3, 200],
    ] as const) {
      const t = arrivalOffsets({ kind: "poisson" }, qps, 10_001, new SeededRandom(seed));
      const rate = 10_000 / (t[10_000]! / 1000);
      expect(Math.abs(rate / qps - 1), `seed ${seed}`).toBeLessThan(0.02);
    }
  });

  it("draws Poisson gaps that pass a Kolmogorov–Smirnov test against the exponential (α = 0.01)", () => {
    const qps = 8;
    const meanGap = 1000 / qps;
    for (const seed of [1, 2, 3]) {
      const xs = gaps(arrivalOffsets({ kind: "poisson" }, qps, 10_001, new SeededRandom(seed))).sort(
        (a, b) => a - b,
      );
      const n = xs.length;
      let d = 0;
      for (let i = 0; i < n; i++) {
        const cdf = 1 - Math.exp(-xs[i]! / meanGap);
        d = Math.max(d, (i + 1) / n - cdf, cdf - i / n);
      }
      expect(d, `seed ${seed}`).toBeLessThan(1.628 / Math.sqrt(n));
    }
  });

  it("draws gamma gaps with mean 1000/qps and coefficient of variation 1/sqrt(burstiness)", () => {
    for (const burstiness of [0.25, 0.5, 1, 4]) {
      const xs = gaps(arrivalOffsets({ kind: "gamma", burstiness }, 10, 200_001, new SeededRandom(5)));
      // Standard errors over 200,000 gaps: mean ≈ CV/447 (at most 0.5 %), CV a little more.
      expect(Math.abs(mean(xs) / 100 - 1), `mean, burstiness ${burstiness}`).toBeLessThan(0.02);
      expect(
        Math.abs(coefficientOfVariation(xs) * Math.sqrt(burstiness) - 1),
        `cv, burstiness ${burstiness}`,
      ).toBeLessThan(0.03);
    }
  });

  it("matches Poisson at burstiness 1 in distribution", () => {
    const xs = gaps(arrivalOffsets({ kind: "gamma", burstiness: 1 }, 10, 10_001, new SeededRandom(8))).sort(
      (a, b) => a - b,
    );
    const n = xs.length;
    let d = 0;
    for (let i = 0; i < n; i++) {
      const cdf = 1 - Math.exp(-xs[i]! / 100);
      d = Math.max(d, (i + 1) / n - cdf, cdf - i / n);
    }
    expect(d).toBeLessThan(1.628 / Math.sqrt(n));
  });

  it("refuses a rate that is not a finite positive number", () => {
    for (const qps of [0, -1, Number.POSITIVE_INFINITY, Number.NaN]) {
      expect(() => arrivalOffsets({ kind: "poisson" }, qps, 10, new SeededRandom(1))).toThrow(
        TokenForgeError,
      );
    }
    expect(() => standardGamma(0, new SeededRandom(1))).toThrow(TokenForgeError);
  });
});
