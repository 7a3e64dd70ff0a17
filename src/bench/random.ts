/**
 * Seeded randomness for benchmark plans: a PRNG, per-request token counts, and arrival schedules.
 * A plan depends on nothing but its seed: the generator is xoshiro128** (seeded through
 * splitmix32, as the synthetic weights are), never Math.random, and every transform uses only
 * IEEE-exact arithmetic plus V8's fdlibm-derived Math.log/exp/cos, the same on every platform.
 */
import { TokenForgeError } from "../errors.js";
import { hashString, Xoshiro128 } from "../models/prng.js";
import type { Arrival, Distribution } from "./types.js";

/** A source of uniform floats in [0, 1). */
export interface Random {
  next(): number;
}

/**
 * xoshiro128** with 53-bit float output: the same generator and seeding as the synthetic weights
 * (models/prng.ts), so one implementation serves both.
 */
export class SeededRandom extends Xoshiro128 implements Random {}

/**
 * The generator for one named use of a seed ("arrival", "prompt-len", ...), so adding a draw to
 * one stream never shifts the values of another.
 */
export function createRandom(seed: number, stream = ""): SeededRandom {
  return new SeededRandom(seed >>> 0, hashString(stream));
}

/** A standard normal draw (Box–Muller; the second value is discarded to keep one draw per call). */
export function standardNormal(rng: Random): number {
  const u1 = 1 - rng.next(); // (0, 1]: log stays finite
  const u2 = rng.next();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/** An exponential draw with mean 1. */
export function standardExponential(rng: Random): number {
  return -Math.log(1 - rng.next());
}

/** A Gamma(shape, 1) draw: Marsaglia–Tsang, with the U^(1/shape) boost for shape < 1. */
export function standardGamma(shape: number, rng: Random): number {
  if (!(shape > 0) || !Number.isFinite(shape)) {
    throw new TokenForgeError("invalid_request", `gamma shape must be a finite number > 0, got ${shape}`, {
      field: "burstiness",
    });
  }
  if (shape < 1) {
    const boost = (1 - rng.next()) ** (1 / shape);
    return standardGamma(shape + 1, rng) * boost;
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = standardNormal(rng);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - rng.next();
    const x2 = x * x;
    if (u < 1 - 0.0331 * x2 * x2) return d * v;
    if (Math.log(u) < 0.5 * x2 + d * (1 - v + Math.log(v))) return d * v;
  }
}

/**
 * One draw of a token-count distribution: always an integer ≥ 1; `normal` is rounded and clamped
 * to its `min`/`max`, `uniform` is inclusive of both ends, `list` picks one value uniformly.
 */
export function sampleDistribution(dist: Distribution, rng: Random): number {
  switch (dist.kind) {
    case "fixed":
      return atLeastOne(dist.value);
    case "uniform": {
      const lo = Math.ceil(Math.min(dist.min, dist.max));
      const hi = Math.floor(Math.max(dist.min, dist.max));
      return atLeastOne(lo + Math.floor(rng.next() * (hi - lo + 1)));
    }
    case "normal": {
      let x = Math.round(dist.mean + dist.stdev * standardNormal(rng));
      if (dist.min !== undefined) x = Math.max(x, dist.min);
      if (dist.max !== undefined) x = Math.min(x, dist.max);
      return atLeastOne(x);
    }
    case "list": {
      if (dist.values.length === 0) {
        throw new TokenForgeError("invalid_request", "a list distribution needs at least one value", {
          field: "list",
        });
      }
      return atLeastOne(dist.values[Math.floor(rng.next() * dist.values.length)]!);
    }
    default:
      return dist satisfies never;
  }
}

function atLeastOne(x: number): number {
  return Math.max(1, Math.round(x));
}

/**
 * Scheduled send times (ms from the run's start) of `count` requests at `qps` on average: the
 * first at 0, then gaps drawn from the arrival process — exponential (Poisson), exactly 1000/qps
 * (constant), or Gamma with shape = burstiness and the same mean (coefficient of variation
 * 1/sqrt(burstiness): below 1 is burstier than Poisson, above 1 smoother).
 */
export function arrivalOffsets(arrival: Arrival, qps: number, count: number, rng: Random): Float64Array {
  if (!(qps > 0) || !Number.isFinite(qps)) {
    throw new TokenForgeError("invalid_request", `qps must be a finite number > 0, got ${qps}`, {
      field: "qps",
    });
  }
  if (!Number.isInteger(count) || count < 0) {
    throw new TokenForgeError("invalid_request", `count must be an integer ≥ 0, got ${count}`, {
      field: "num_requests",
    });
  }
  const out = new Float64Array(count);
  const meanGap = 1000 / qps;
  switch (arrival.kind) {
    case "constant":
      // i × gap, not a running sum: no drift over long schedules.
      for (let i = 1; i < count; i++) out[i] = i * meanGap;
      return out;
    case "poisson":
      for (let i = 1; i < count; i++) out[i] = out[i - 1]! + meanGap * standardExponential(rng);
      return out;
    case "gamma": {
      const shape = arrival.burstiness;
      const scale = meanGap / shape;
      for (let i = 1; i < count; i++) out[i] = out[i - 1]! + scale * standardGamma(shape, rng);
      return out;
    }
    default:
      return arrival satisfies never;
  }
}
