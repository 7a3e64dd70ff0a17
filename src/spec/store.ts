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
  /** The id of the API key that started it (absent when the gateway ran without keys). */
  owner?: string;
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
  /** Only the runs started with this API key. */
  owner?: string;
  limit?: number;
}

/** `admin`: deploy, delete, attach to URLs, manage keys; `user`: infer, run on existing deployments, own runs. */
export type ApiKeyRole = "admin" | "user";

/** An API key as stored: never the secret, only its SHA-256 (lowercase hex). */
export interface ApiKeyRow {
  id: string;
  name: string;
  role: ApiKeyRole;
  /** SHA-256 of the secret, 64 lowercase hex digits. */
  hash: string;
  createdAt: string;
  revokedAt?: string;
  lastUsedAt?: string;
}

export interface Store {
  /** Applies pending migrations; safe to call on every start. */
  migrate(): Promise<void>;
  putDeployment(row: DeploymentRow): Promise<void>;
  getDeployment(id: string): Promise<DeploymentRow | undefined>;
  listDeployments(): Promise<DeploymentRow[]>;
  deleteDeployment(id: string): Promise<boolean>;
  createRun(row: RunRow): Promise<void>;
  updateRun(id: string, patch: Partial<Omit<RunRow, "id" | "createdAt" | "owner">>): Promise<void>;
  getRun(id: string): Promise<RunRow | undefined>;
  listRuns(filter?: RunFilter): Promise<RunRow[]>;
  putResult(row: ResultRow): Promise<void>;
  listResults(runId: string): Promise<ResultRow[]>;
  putArtifact(row: ArtifactRow): Promise<void>;
  listArtifacts(runId: string): Promise<ArtifactRow[]>;
  /** Stores a new key; an id or hash already taken is a conflict. */
  createApiKey(row: ApiKeyRow): Promise<void>;
  /** Every key, revoked ones included, oldest first. */
  listApiKeys(): Promise<ApiKeyRow[]>;
  /** Marks a key revoked (once: a second revoke keeps the first time); undefined when there is no such key. */
  revokeApiKey(id: string, at: string): Promise<ApiKeyRow | undefined>;
  /** Records that these keys were used at `at` (a later time only ever moves it forward). */
  touchApiKeys(ids: readonly string[], at: string): Promise<void>;
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
