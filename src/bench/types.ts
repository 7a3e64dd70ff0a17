/**
 * The harness's data model: a normalized workload (what the config schema produces), a planned
 * request, the per-request trace the runner records, and the aggregate a trace set reduces to.
 * Every time is in milliseconds from `performance.now()`, as an offset from the run's start.
 */

/** A number drawn per request. `list` picks one of the values uniformly. */
export type Distribution =
  | { kind: "fixed"; value: number }
  | { kind: "uniform"; min: number; max: number }
  | { kind: "normal"; mean: number; stdev: number; min?: number; max?: number }
  | { kind: "list"; values: number[] };

/** How inter-arrival gaps are drawn. Gamma with burstiness 1 is Poisson; below 1 is burstier. */
export type Arrival = { kind: "poisson" } | { kind: "constant" } | { kind: "gamma"; burstiness: number };

export type Dataset =
  | { kind: "synthetic" }
  | { kind: "sharegpt"; path: string }
  | { kind: "jsonl"; path: string; field: string };

export interface Slo {
  ttftMs?: number;
  tpotMs?: number;
  e2eMs?: number;
}

/** Hardware cost, reduced to dollars per hour; `breakdown` keeps what it was computed from. */
export interface CostProfile {
  dollarsPerHour: number;
  breakdown: {
    hourly?: number;
    price?: number;
    amortizationYears?: number;
    utilization?: number;
    powerWatts?: number;
    dollarsPerKwh?: number;
  };
}

export interface Warmup {
  seconds?: number;
  requests?: number;
}

export interface SweepSpec {
  /** Rates measured between the synchronous baseline and the maximum throughput. */
  points: number;
}

export interface Workload {
  name: string;
  /** Offered request rate. Undefined with no `concurrency`: send everything at once (max throughput). */
  qps?: number;
  /** Closed loop: this many requests in flight, each sent when one finishes. */
  concurrency?: number;
  /** Open loop with a cap on requests in flight; waiting requests are reported. */
  maxConcurrency?: number;
  durationS?: number;
  numRequests?: number;
  warmup: Warmup;
  promptLen: Distribution;
  genTokens: Distribution;
  dataset: Dataset;
  /** Shared prefix: `ratio` of requests start with the same `length` tokens. */
  prefix: { length: number; ratio: number };
  endpoint: "completions" | "chat";
  stream: boolean;
  arrival: Arrival;
  slo: Slo;
  seed: number;
  sweep?: SweepSpec;
  /**
   * A request with no byte from the server for this long ends as an error. Absent: derived from
   * the first-request check on each target (stall.ts).
   */
  stallTimeoutS?: number;
  /**
   * The run fails when more than this fraction of the workload's measured requests on a runtime
   * ended as errors (all of them always fails it). Absent: `DEFAULT_MAX_ERROR_FRACTION`.
   */
  maxErrorFraction?: number;
}

export interface BenchConfig {
  model: string;
  runtimes: string[];
  /** Base URL per runtime name, to attach to servers already running. */
  targets: Record<string, string>;
  /**
   * Per attached runtime, the environment variable holding its API key (sent as
   * `Authorization: Bearer …`). The name only: the key itself is read when the run starts.
   */
  targetAuth?: Record<string, { apiKeyEnv: string }>;
  workloads: Workload[];
  seed: number;
  cost?: CostProfile;
}

/** One request of a plan. `atMs` is the scheduled send time from the run's start. */
export interface PlannedRequest {
  index: number;
  atMs: number;
  prompt: string;
  /** Token count of `prompt` as the calibrating tokenizer counts it. */
  promptTokens: number;
  maxTokens: number;
  warmup: boolean;
}

/** Where prompt token counts came from. */
export type TokenCountSource = "server-tokenize" | "local-tokenizer" | "server-usage";

export type Outcome = "ok" | "error" | "incomplete";

/** Everything the runner saw of one request. Absent means not observed, never zero. */
export interface RequestTrace {
  index: number;
  warmup: boolean;
  scheduledMs: number;
  sendMs: number;
  headersMs?: number;
  /** Arrival of every chunk that carried content (text or reasoning-free delta). */
  chunkMs: number[];
  endMs?: number;
  status?: number;
  outcome: Outcome;
  error?: string;
  promptTokens: number;
  maxTokens: number;
  usage?: { promptTokens: number; completionTokens: number };
  /** Tokens per chunk when the server reports continuous usage; otherwise absent. */
  chunkTokens?: number[];
}
