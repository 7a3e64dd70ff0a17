/**
 * Types only: the store seam (run metadata and results in SQL; PGlite by default, PostgreSQL when
 * DATABASE_URL is set) and the artifact seam (traces, result JSON and reports in a directory or
 * an S3-compatible bucket).
 */
import type { DeploymentSpec, DeploymentState } from "./deployment.js";

/**
 * `interrupted`: the process running it ended (a crash, a restart) before the run did; the
 * workloads it finished are kept, and `resume` runs the rest.
 */
export type RunStatus =
  | "queued"
  | "running"
  | "complete"
  | "incomplete"
  | "failed"
  | "cancelled"
  | "interrupted";

export interface DeploymentRow {
  spec: DeploymentSpec;
  state: DeploymentState;
  createdAt: string;
  updatedAt: string;
  lastError?: string;
  /** The run that deployed it for itself: removed when that run ends, never restored. */
  ownerRun?: string;
}

export interface RunRow {
  id: string;
  status: RunStatus;
  model: string;
  runtimes: string[];
  /** The normalized benchmark config (BenchConfig) as JSON. */
  config: unknown;
  seed: number;
  /** TokenForge and engine versions, machine, engine arguments. */
  environment: unknown;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  error?: string;
}

export interface ResultRow {
  runId: string;
  workload: string;
  runtime: string;
  /** Every aggregate metric (WorkloadMetrics) as JSON. */
  metrics: unknown;
}

export interface ArtifactRow {
  runId: string;
  /** e.g. "requests.jsonl.gz", "result.json", "report.html". */
  name: string;
  /** Where it is: "file:///…" or "s3://bucket/key". */
  uri: string;
  bytes: number;
  contentType: string;
  /** False while it lives only locally waiting for an upload retry. */
  uploaded: boolean;
}

export interface RunFilter {
  model?: string;
  runtime?: string;
  status?: RunStatus;
  limit?: number;
}

export interface Store {
  /** Applies pending migrations; safe to call on every start. */
  migrate(): Promise<void>;
  putDeployment(row: DeploymentRow): Promise<void>;
  getDeployment(id: string): Promise<DeploymentRow | undefined>;
  listDeployments(): Promise<DeploymentRow[]>;
  deleteDeployment(id: string): Promise<boolean>;
  createRun(row: RunRow): Promise<void>;
  updateRun(id: string, patch: Partial<Omit<RunRow, "id" | "createdAt">>): Promise<void>;
  getRun(id: string): Promise<RunRow | undefined>;
  listRuns(filter?: RunFilter): Promise<RunRow[]>;
  putResult(row: ResultRow): Promise<void>;
  listResults(runId: string): Promise<ResultRow[]>;
  putArtifact(row: ArtifactRow): Promise<void>;
  listArtifacts(runId: string): Promise<ArtifactRow[]>;
  close(): Promise<void>;
}

export interface ArtifactStore {
  /** Stores bytes under `runId/name`; returns where they went. */
  put(
    runId: string,
    name: string,
    body: Buffer,
    contentType: string,
  ): Promise<{ uri: string; uploaded: boolean }>;
  get(runId: string, name: string): Promise<Buffer | undefined>;
  /** Retries uploads that failed before; returns how many are still pending. */
  retryPending(): Promise<number>;
}
