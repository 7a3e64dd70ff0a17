/**
 * Ramps. A rate ramp is one open-loop schedule whose rate λ(t) goes from `from` to `to` over the
 * duration, linearly or exponentially. It is drawn by time rescaling: the workload's arrival
 * process at one request per unit (Poisson, constant or gamma, from the seed) gives points u₀ = 0,
 * u₁, … in "expected requests", and request i is sent at t = Λ⁻¹(uᵢ), where Λ(t) = ∫₀ᵗ λ is the
 * expected number of requests by t. So the schedule is still a pure function of the seed, and a
 * constant arrival sends request i exactly when Λ reaches i. The result reports each of `steps`
 * equal windows of the duration separately (the requests scheduled in it, and its mean rate).
 *
 * A concurrency ramp is `steps` closed-loop runs, one per level, each for duration / steps.
 */
import type { AggregateContext } from "./aggregate.js";
import { Aggregator } from "./aggregate.js";
import type { WorkloadMetrics } from "./metric-types.js";
import { arrivalOffsets, type Random } from "./random.js";
import type { Arrival, Ramp, RequestTrace, Workload } from "./types.js";

/** One window of a rate ramp, or one level of a concurrency ramp. */
export interface RampStep {
  step: number;
  /** Window in seconds from the start of the measured schedule. */
  startS: number;
  endS: number;
  /** Rate ramp: expected requests in the window / its length. */
  offeredQps?: number;
  /** Concurrency ramp: the level run. */
  concurrency?: number;
  metrics: WorkloadMetrics;
}

/** Expected requests sent by `t` seconds into a rate ramp: Λ(t). */
export function rampCumulative(ramp: Ramp, t: number): number {
  const { from: a, to: b, durationS: d } = ramp;
  if (ramp.shape === "exponential" && a !== b) {
    const k = Math.log(b / a) / d;
    return (a * Math.expm1(k * t)) / k;
  }
  return a * t + ((b - a) * t * t) / (2 * d);
}

/** Λ⁻¹(u): when the rate ramp has sent `u` expected requests (u ≤ Λ(duration)). */
export function rampInverse(ramp: Ramp, u: number): number {
  const { from: a, to: b, durationS: d } = ramp;
  if (ramp.shape === "exponential" && a !== b) {
    const k = Math.log(b / a) / d;
    return Math.log1p((k * u) / a) / k;
  }
  const c = (b - a) / (2 * d);
  // The root of c·t² + a·t − u = 0 in a form that stays exact as c → 0.
  return (2 * u) / (a + Math.sqrt(Math.max(0, a * a + 4 * c * u)));
}

/** The send times (ms) of a rate ramp: every arrival before the duration ends. */
export function rampSchedule(ramp: Ramp, arrival: Arrival, rng: Random): Float64Array {
  const total = rampCumulative(ramp, ramp.durationS);
  // Arrivals at one per unit; comfortably more than the ramp holds, then cut at its end.
  const drawn = arrivalOffsets(arrival, 1000, Math.ceil(total * 1.3 + 10 * Math.sqrt(total) + 10), rng);
  let n = 0;
  while (n < drawn.length && drawn[n]! < total) n++;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.min(rampInverse(ramp, drawn[i]!), ramp.durationS) * 1000;
  return out;
}

/** The step windows of a rate ramp with their mean offered rates. */
export function rampWindows(ramp: Ramp): Array<{ startS: number; endS: number; offeredQps: number }> {
  const width = ramp.durationS / ramp.steps;
  return Array.from({ length: ramp.steps }, (_, k) => {
    const startS = k * width;
    const endS = k === ramp.steps - 1 ? ramp.durationS : (k + 1) * width;
    const offeredQps = (rampCumulative(ramp, endS) - rampCumulative(ramp, startS)) / (endS - startS);
    return { startS, endS, offeredQps };
  });
}

/** The levels of a concurrency ramp, rounded to whole requests in flight. */
export function concurrencyLevels(ramp: Ramp): number[] {
  const { from: a, to: b, steps } = ramp;
  return Array.from({ length: steps }, (_, k) => {
    const f = steps === 1 ? 1 : k / (steps - 1);
    const level = ramp.shape === "exponential" ? a * (b / a) ** f : a + (b - a) * f;
    return Math.max(1, Math.round(level));
  });
}

/** The closed-loop runs of a concurrency ramp: one per level, each duration / steps long. */
export function concurrencyStages(w: Workload): Array<{ workload: Workload; concurrency: number }> {
  const ramp = w.ramp!;
  const { ramp: _ramp, qps: _qps, maxConcurrency: _m, numRequests: _n, sweep: _s, ...rest } = w;
  return concurrencyLevels(ramp).map((concurrency, k) => ({
    concurrency,
    workload: {
      ...rest,
      name: `${w.name}/step${k + 1}-c${concurrency}`,
      concurrency,
      durationS: ramp.durationS / ramp.steps,
    },
  }));
}

/**
 * A rate ramp's metrics per step: each measured request goes to the window its scheduled send
 * (`atMs[index]`, the plan's own schedule) falls in.
 */
export function rampStepMetrics(
  ramp: Ramp,
  atMs: Float64Array,
  traces: Iterable<RequestTrace>,
  ctx: Omit<AggregateContext, "offeredQps">,
): RampStep[] {
  const windows = rampWindows(ramp);
  const width = ramp.durationS / ramp.steps;
  const aggs = windows.map((w) => new Aggregator({ ...ctx, offeredQps: w.offeredQps }));
  for (const t of traces) {
    if (t.warmup) continue;
    const at = atMs[t.index];
    if (at === undefined) continue;
    const k = Math.min(ramp.steps - 1, Math.floor(at / 1000 / width));
    aggs[k]!.add(t);
  }
  return windows.map((w, k) => ({
    step: k + 1,
    startS: w.startS,
    endS: w.endS,
    offeredQps: w.offeredQps,
    metrics: aggs[k]!.finish(),
  }));
}
