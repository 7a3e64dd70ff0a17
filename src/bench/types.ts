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

/**
 * A sweep: `points` rates spread between the synchronous baseline and the maximum throughput, or
 * a search for the highest rate meeting the SLOs (slo-search.ts).
 */
export type SweepSpec =
  | {
      /** Rates measured between the synchronous baseline and the maximum throughput. */
      points: number;
    }
  | { search: SloSearchSpec };

/** The search for the best rate under the SLOs; defaults in docs/workloads.md. */
export interface SloSearchSpec {
  /** A rate passes when at least this fraction of its requests met every SLO. */
  attainment: number;
  /** Two-sided confidence of the binomial intervals on attainment (and so of the rate's interval). */
  confidence: number;
  /** Stop once the bracket [passing, failing] is narrower than this fraction of its lower end. */
  tolerance: number;
  /** Rates measured at most (the synchronous baseline not counted). */
  maxPoints: number;
  /** First rate tried; absent: the synchronous baseline's request rate. */
  startQps?: number;
  /** Never offer more than this; reaching it while passing ends the search there. */
  maxQps?: number;
}

/**
 * A ramp over `durationS`: of the offered rate (one open-loop run whose arrival process speeds up
 * or slows down, reported per step) or of the concurrency (one closed-loop run per step).
 */
export interface Ramp {
  of: "qps" | "concurrency";
  from: number;
  to: number;
  durationS: number;
  shape: "linear" | "exponential";
  /** Rate ramp: windows the result reports separately; concurrency ramp: levels run. */
  steps: number;
}

/**
 * Multi-turn chat sessions (sessions.ts): each turn's prompt is the whole conversation so far
 * plus a new user message of `prompt_len` tokens; the reply is `gen_tokens` long; the next turn
 * follows the reply after a think time.
 */
export interface SessionSpec {
  /** Turns per session (at most `MAX_TURNS`). */
  turns: Distribution;
  /** Milliseconds between a reply's end and the next turn; absent: none. */
  thinkMs?: Distribution;
  /** Tokens of a system prompt every session shares; 0: none. */
  systemPrompt: number;
  /** Sessions to run; absent with the workload's `durationS`. */
  count?: number;
}

/** Trace replay (trace-replay.ts): each line of the file is a request, sent at its timestamp. */
export interface TraceSpec {
  path: string;
  format: "mooncake" | "plain";
  /** Timestamps are divided by this: 2 replays the trace twice as fast. */
  speedup: number;
  /** Tokens each shared block id stands for. */
  blockTokens: number;
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
  /** A ramp instead of a fixed rate or concurrency (ramp.ts). */
  ramp?: Ramp;
  /** Replay a trace file instead of drawing requests; its lengths replace prompt_len/gen_tokens. */
  trace?: TraceSpec;
  /** Multi-turn sessions: `qps` is then sessions per second, `concurrency` users. */
  sessions?: SessionSpec;
  /** Stop the run when it is over capacity (saturation.ts). */
  saturation?: { windowS: number; minGrowth: number };
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

/**
 * Where prompt token counts came from: the target's `/tokenize`, the model's own tokenizer here,
 * the `usage` of one-token generations on the target, or nothing (one token per word assumed).
 */
export type TokenCountSource = "server-tokenize" | "local-tokenizer" | "server-usage" | "assumed";

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
  usage?: { promptTokens: number; completionTokens: number; reasoningTokens?: number };
  /**
   * Chunks that carried only reasoning (`reasoning_content` / `reasoning` deltas); absent when
   * none did. Their arrivals are in `chunkMs` with the answer's.
   */
  reasoningChunks?: number;
  /** Arrival of the first answer (non-reasoning) chunk, kept only when reasoning chunks came. */
  firstOutputMs?: number;
  /** Tokens per chunk when the server reports continuous usage; otherwise absent. */
  chunkTokens?: number[];
}
