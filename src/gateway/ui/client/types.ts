/**
 * The parts of the gateway's answers the views read: GET /deployments, GET /benchmarks[/<id>] and
 * GET /benchmarks/compare. Everything else in them is left alone.
 */

export interface Deployment {
  id: string;
  model: string;
  runtime: string;
  quant?: string;
  target: string;
  replicas: number;
  status: string;
  endpoints: string[];
  last_error?: string;
}

/** A run as GET /benchmarks lists it. */
export interface RunSummary {
  id: string;
  status: string;
  model: string;
  runtimes: string[];
  seed: number;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  error?: string;
}

export interface Summary {
  p50?: number;
  p99?: number;
}

export interface RunResult {
  workload: string;
  runtime: string;
  metrics?: {
    counts?: { ok?: number; errored?: number; incomplete?: number };
    ttftMs?: Summary;
    tpotMs?: Summary;
    requestThroughput?: number;
    outputTokenThroughput?: number;
  };
}

export interface Progress {
  workload: string;
  runtime: string;
  phase: string;
  done: number;
  total: number;
  inFlight: number;
  errors: number;
  achievedRate?: number;
  ttftP50Ms?: number;
}

/** A run as GET /benchmarks/<id> shows it. */
export interface Run extends RunSummary {
  progress?: Progress;
  results: RunResult[];
  artifacts?: { name: string; bytes: number }[];
}

export interface MetricComparison {
  key: string;
  label: string;
  unit: string;
  better: "lower" | "higher";
  a?: number;
  b?: number;
  changePct?: number;
  noisePct?: number;
  verdict: string;
}

export interface Comparison {
  a: RunSummary;
  b: RunSummary;
  thresholdPct: number;
  noiseFloorPct: number;
  regressions: number;
  improvements: number;
  pairs: { workload: string; runtime: string; metrics: MetricComparison[] }[];
  onlyInA: { workload: string; runtime: string }[];
  onlyInB: { workload: string; runtime: string }[];
}
