/**
 * The saturation stop: a run is over capacity when what it waits on grows without bound. Below
 * capacity an open loop's requests in flight settle around rate × latency and TTFT around its
 * service time; above it both climb for as long as the run lasts (in flight by the excess rate,
 * TTFT by the queue's growth). So over the last `window` the monitor fits a least-squares line to
 * the requests in flight against time and another to TTFT against send time, and stops the run
 * when either slope is positive beyond noise (its one-sided 99 % lower bound is above zero) and
 * the line climbs across the window by at least `minGrowth` times its level at the window's start
 * (and by at least 4 requests, or 50 ms).
 */
import type { RequestTrace } from "./types.js";

/** One-sided 99 % normal quantile: the slope's lower bound is slope − Z·stderr. */
const Z = 2.326;
/** The fewest samples in a window worth a slope. */
const MIN_SAMPLES = 8;
/**
 * The least growth across a window that can mean saturation, whatever the level: a few requests
 * more in flight, or a few tens of ms more TTFT, happen by chance at any load.
 */
const MIN_GROWTH = { "in-flight": 4, ttft: 50 } as const;

export interface SaturationSpec {
  windowS: number;
  minGrowth: number;
}

/** Why a run was stopped as over capacity. */
export interface SaturationStop {
  reason: "saturation";
  /** Which series grew: requests in flight, or TTFT. */
  signal: "in-flight" | "ttft";
  /** The fitted slope: requests per second (in flight) or ms of TTFT per second of sending. */
  slope: number;
  /** Growth of the fitted line across the window, and the window's mean level. */
  growth: number;
  level: number;
  windowS: number;
  /** Seconds into the measured phase when it stopped. */
  atS: number;
  /** One line for people. */
  message: string;
}

interface Fit {
  slope: number;
  stderr: number;
  mean: number;
}

/** Least-squares slope of y on x with its standard error; undefined with < 3 points or no spread in x. */
export function fitSlope(xs: readonly number[], ys: readonly number[]): Fit | undefined {
  const n = xs.length;
  if (n < 3) return undefined;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += xs[i]!;
    my += ys[i]!;
  }
  mx /= n;
  my /= n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (xs[i]! - mx) ** 2;
    sxy += (xs[i]! - mx) * (ys[i]! - my);
  }
  if (sxx === 0) return undefined;
  const slope = sxy / sxx;
  let sse = 0;
  for (let i = 0; i < n; i++) sse += (ys[i]! - my - slope * (xs[i]! - mx)) ** 2;
  return { slope, stderr: Math.sqrt(sse / (n - 2) / sxx), mean: my };
}

/**
 * Watches one run. Feed it the requests in flight (`inFlight`, at any pace: the runner's progress
 * ticks) and every finished trace (`trace`); it calls `onStop` once, the first time a series
 * tests as growing without bound.
 */
export class SaturationMonitor {
  private readonly windowMs: number;
  private readonly flightT: number[] = [];
  private readonly flightN: number[] = [];
  private readonly ttftSend: number[] = [];
  private readonly ttftMs: number[] = [];
  private readonly ttftFirst: number[] = [];
  private startMs: number | undefined;
  private ttftStart: number | undefined;
  private stopped = false;
  private readonly lastCheck = new Map<SaturationStop["signal"], number>();

  constructor(
    private readonly spec: SaturationSpec,
    private readonly onStop: (stop: SaturationStop) => void,
  ) {
    this.windowMs = spec.windowS * 1000;
  }

  /** Requests in flight at `atMs` (any clock, the same for every call). */
  inFlight(atMs: number, n: number): void {
    this.startMs ??= atMs;
    this.flightT.push(atMs);
    this.flightN.push(n);
    this.check("in-flight", atMs, this.flightT, this.flightN, this.flightT, atMs - this.startMs);
  }

  /** A finished measured request (trace times are the runner's). */
  trace(t: RequestTrace): void {
    const first = t.chunkMs[0];
    if (t.warmup || first === undefined) return;
    this.ttftSend.push(t.sendMs);
    this.ttftMs.push(first - t.sendMs);
    this.ttftFirst.push(first);
    this.ttftStart ??= first;
    this.check("ttft", first, this.ttftSend, this.ttftMs, this.ttftFirst, first - this.ttftStart);
  }

  /**
   * `at` places each sample in or out of the window (for TTFT its first chunk's arrival, which is
   * nearly but not exactly in the order traces finish); `xs` is the regressor (time or send time).
   * Checked at most 20 times a window, so a fast run costs little.
   */
  private check(
    signal: SaturationStop["signal"],
    nowMs: number,
    xs: number[],
    ys: number[],
    at: number[],
    elapsedMs: number,
  ): void {
    if (this.stopped || elapsedMs < this.windowMs) return;
    const last = this.lastCheck.get(signal);
    if (last !== undefined && nowMs - last < this.windowMs / 20) return;
    this.lastCheck.set(signal, nowMs);
    const from = nowMs - this.windowMs;
    let drop = 0;
    while (drop < at.length && at[drop]! < from) drop++;
    if (drop > 0) {
      xs.splice(0, drop);
      ys.splice(0, drop);
      if (at !== xs) at.splice(0, drop);
    }
    const keep = at.map((t) => t >= from);
    const wx = xs.filter((_, i) => keep[i]);
    const wy = ys.filter((_, i) => keep[i]);
    if (wx.length < MIN_SAMPLES) return;
    const fit = fitSlope(wx, wy);
    if (fit === undefined) return;
    const growth = fit.slope * this.windowMs;
    if (fit.slope - Z * fit.stderr <= 0) return;
    // The line's level where the window starts: a queue that has been growing for a while is
    // judged by what it added in this window against what it held at its start.
    const startLevel = Math.max(0, fit.mean - growth / 2);
    if (growth < Math.max(this.spec.minGrowth * startLevel, MIN_GROWTH[signal])) return;
    this.stopped = true;
    const perS = fit.slope * 1000;
    const unit = signal === "in-flight" ? "requests in flight" : "ms of TTFT";
    this.onStop({
      reason: "saturation",
      signal,
      slope: perS,
      growth,
      level: fit.mean,
      windowS: this.spec.windowS,
      atS: elapsedMs / 1000,
      message:
        `over capacity: ${unit} grew by ${growth.toFixed(1)} over the last ${this.spec.windowS} s ` +
        `(${perS.toFixed(2)}/s; mean ${fit.mean.toFixed(1)}), so the run was stopped`,
    });
  }
}

/**
 * The monitor wired to a run: a signal that aborts the run when it saturates (or when `outer`,
 * the user's, aborts), the progress interval that gives a window about 40 samples of requests in
 * flight, and the two feeds. `stopped` is set once the monitor stopped the run.
 */
export function watchSaturation(spec: SaturationSpec, outer: AbortSignal | undefined) {
  const controller = new AbortController();
  const onOuter = () => controller.abort(outer?.reason);
  outer?.addEventListener("abort", onOuter, { once: true });
  if (outer?.aborted) controller.abort(outer.reason);
  const watch = {
    signal: controller.signal,
    progressIntervalMs: Math.min(1000, Math.max(25, (spec.windowS * 1000) / 40)),
    stopped: undefined as SaturationStop | undefined,
    trace: (t: RequestTrace) => monitor.trace(t),
    progress: (p: { phase: "warmup" | "measure"; inFlight: number }) => {
      if (p.phase === "measure") monitor.inFlight(performance.now(), p.inFlight);
    },
    dispose: () => outer?.removeEventListener("abort", onOuter),
  };
  const monitor = new SaturationMonitor(spec, (stop) => {
    watch.stopped = stop;
    controller.abort(new Error(stop.message));
  });
  return watch;
}
