/**
 * Normalizes a config without problems into `BenchConfig` (types.ts): camelCase, every default of
 * docs/workloads.md filled, paths resolved against the config's folder, target URLs without a
 * trailing slash or `/v1`, each workload's seed derived from the config's, the top-level SLOs
 * merged under each workload's own, and the top-level `stall_timeout_s` and `max_error_fraction`
 * taken where a workload gives none.
 */
import { resolve } from "node:path";
import type {
  BenchConfigFile,
  DatasetFile,
  DistributionFile,
  SloFile,
  WorkloadFile,
} from "./config-schema.js";
import { SEARCH_DEFAULTS } from "./slo-search.js";
import { loadTrace } from "./trace-replay.js";
import type {
  Arrival,
  BenchConfig,
  CostProfile,
  Dataset,
  Distribution,
  Ramp,
  SessionSpec,
  Slo,
  SloSearchSpec,
  SweepSpec,
  TraceSpec,
  Warmup,
  Workload,
} from "./types.js";

export const DEFAULT_NUM_REQUESTS = 100;
/** More of a workload's requests than this failing fails the run (docs/workloads.md). */
export const DEFAULT_MAX_ERROR_FRACTION = 0.5;

export function normalize(
  file: BenchConfigFile,
  baseDir: string,
  cost: CostProfile | undefined,
): BenchConfig {
  const seed = file.seed ?? 0;
  const targets: Record<string, string> = {};
  const targetAuth: Record<string, { apiKeyEnv: string }> = {};
  for (const [name, target] of Object.entries(file.targets ?? {})) {
    const url = typeof target === "string" ? target : target.url;
    targets[name] = url.replace(/\/+$/, "").replace(/\/v1$/, "");
    if (typeof target !== "string" && target.api_key_env !== undefined) {
      targetAuth[name] = { apiKeyEnv: target.api_key_env };
    }
  }
  const out: BenchConfig = {
    model: file.model,
    runtimes: [...file.runtimes],
    targets,
    workloads: file.workloads.map((w, i) => workload(w, i, seed, file, baseDir)),
    seed,
  };
  if (Object.keys(targetAuth).length > 0) out.targetAuth = targetAuth;
  if (cost) out.cost = cost;
  return out;
}

function workload(
  w: WorkloadFile,
  index: number,
  topSeed: number,
  top: BenchConfigFile,
  baseDir: string,
): Workload {
  const out: Workload = {
    name: w.name,
    warmup: warmup(w.warmup),
    promptLen: distribution(w.prompt_len ?? 1),
    genTokens: distribution(w.gen_tokens ?? 1),
    dataset: dataset(w.dataset, baseDir),
    prefix: { length: w.prefix?.length ?? 0, ratio: w.prefix?.ratio ?? 0 },
    endpoint: w.endpoint ?? "completions",
    stream: w.stream ?? true,
    arrival: arrival(w),
    slo: slo({ ...top.slo, ...w.slo }),
    seed: w.seed ?? (topSeed + index) >>> 0,
    maxErrorFraction: w.max_error_fraction ?? top.max_error_fraction ?? DEFAULT_MAX_ERROR_FRACTION,
  };
  const stall = w.stall_timeout_s ?? top.stall_timeout_s;
  if (stall !== undefined) out.stallTimeoutS = stall;
  if (typeof w.qps === "number") out.qps = w.qps;
  if (w.concurrency !== undefined) out.concurrency = w.concurrency;
  if (w.max_concurrency !== undefined) out.maxConcurrency = w.max_concurrency;
  if (w.duration_s !== undefined) out.durationS = w.duration_s;
  else if (w.ramp === undefined && w.sessions === undefined && w.trace === undefined)
    out.numRequests = w.num_requests ?? DEFAULT_NUM_REQUESTS;
  if (w.sweep) out.sweep = sweep(w.sweep);
  if (w.ramp) out.ramp = ramp(w.ramp);
  if (w.trace) {
    const trace: TraceSpec = {
      path: resolve(baseDir, w.trace.path),
      format: w.trace.format ?? "mooncake",
      speedup: w.trace.speedup ?? 1,
      blockTokens: w.trace.block_tokens ?? DEFAULT_BLOCK_TOKENS,
    };
    out.trace = trace;
    // The lengths the trace can send, for what derives from them (the stall timeout).
    const lines = loadTrace(trace.path, trace.format);
    out.promptLen = { kind: "fixed", value: lines.reduce((m, l) => Math.max(m, l.inputTokens), 1) };
    out.genTokens = { kind: "fixed", value: lines.reduce((m, l) => Math.max(m, l.outputTokens), 1) };
    out.numRequests = lines.length;
  }
  if (w.sessions) {
    const sessions: SessionSpec = {
      turns: distribution(w.sessions.turns),
      systemPrompt: w.sessions.system_prompt ?? 0,
    };
    const think = w.sessions.think_ms;
    if (think !== undefined && think !== 0) sessions.thinkMs = distribution(think);
    if (w.sessions.count !== undefined) sessions.count = w.sessions.count;
    else if (w.duration_s === undefined) sessions.count = DEFAULT_SESSIONS;
    out.sessions = sessions;
  }
  if (w.saturation) {
    out.saturation = {
      windowS: w.saturation.window_s ?? DEFAULT_SATURATION.windowS,
      minGrowth: w.saturation.min_growth ?? DEFAULT_SATURATION.minGrowth,
    };
  }
  return out;
}

/** Tokens per shared block id in a trace (Mooncake's block size). */
export const DEFAULT_BLOCK_TOKENS = 512;

/** Sessions a session workload runs when it gives neither a count nor a duration. */
export const DEFAULT_SESSIONS = 10;

/** The saturation stop's window and the growth across it that stops a run, unless given. */
export const DEFAULT_SATURATION = { windowS: 10, minGrowth: 0.5 } as const;

/** Rate steps a ramp reports (or concurrency levels it runs) unless it says. */
export const DEFAULT_RAMP_STEPS = 5;

function ramp(r: NonNullable<WorkloadFile["ramp"]>): Ramp {
  const [from, to] = r.qps ?? r.concurrency ?? [1, 1];
  return {
    of: r.qps !== undefined ? "qps" : "concurrency",
    from,
    to,
    durationS: r.duration_s,
    shape: r.shape ?? "linear",
    steps: r.steps ?? DEFAULT_RAMP_STEPS,
  };
}

function sweep(s: NonNullable<WorkloadFile["sweep"]>): SweepSpec {
  if ("points" in s) return { points: s.points };
  const f = s.search;
  const search: SloSearchSpec = {
    attainment: f.attainment ?? SEARCH_DEFAULTS.attainment,
    confidence: f.confidence ?? SEARCH_DEFAULTS.confidence,
    tolerance: f.tolerance ?? SEARCH_DEFAULTS.tolerance,
    maxPoints: f.max_points ?? SEARCH_DEFAULTS.maxPoints,
  };
  if (f.start_qps !== undefined) search.startQps = f.start_qps;
  if (f.max_qps !== undefined) search.maxQps = f.max_qps;
  return { search };
}

function warmup(w: WorkloadFile["warmup"]): Warmup {
  if (w === undefined) return { requests: 0 };
  if (typeof w === "number") return { requests: w };
  return w.seconds !== undefined ? { seconds: w.seconds } : { requests: w.requests ?? 0 };
}

function distribution(d: DistributionFile): Distribution {
  if (typeof d === "number") return { kind: "fixed", value: d };
  if ("uniform" in d) return { kind: "uniform", min: d.uniform[0], max: d.uniform[1] };
  if ("list" in d) return { kind: "list", values: [...d.list] };
  const out: Distribution = { kind: "normal", mean: d.normal.mean, stdev: d.normal.stdev };
  if (d.normal.min !== undefined) out.min = d.normal.min;
  if (d.normal.max !== undefined) out.max = d.normal.max;
  return out;
}

function dataset(d: DatasetFile | undefined, baseDir: string): Dataset {
  if (d === undefined || d === "synthetic") return { kind: "synthetic" };
  if ("sharegpt" in d) return { kind: "sharegpt", path: resolve(baseDir, d.sharegpt) };
  return { kind: "jsonl", path: resolve(baseDir, d.jsonl), field: d.field ?? "prompt" };
}

function arrival(w: WorkloadFile): Arrival {
  const a = w.arrival;
  if (a === undefined || a === "poisson") return { kind: "poisson" };
  if (a === "constant") return { kind: "constant" };
  return { kind: "gamma", burstiness: a.gamma.burstiness };
}

function slo(s: SloFile): Slo {
  const out: Slo = {};
  if (s.ttft_ms !== undefined) out.ttftMs = s.ttft_ms;
  if (s.tpot_ms !== undefined) out.tpotMs = s.tpot_ms;
  if (s.e2e_ms !== undefined) out.e2eMs = s.e2e_ms;
  return out;
}
