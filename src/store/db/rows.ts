/**
 * The rows of the SQL store: the records the drivers hand back (snake_case columns, times and
 * bigints as each driver gives them), the columns selected, how a run patch maps onto columns,
 * and the mapping of each record to its row type in `spec/store.ts`.
 */
import { TokenForgeError } from "../../errors.js";
import type { DeploymentSpec, DeploymentState } from "../../spec/deployment.js";
import type { ArtifactRow, DeploymentRow, ResultRow, RunRow, RunStatus } from "../../spec/store.js";
import {
  jsonText,
  oneOf,
  optionalIsoTime,
  optionalText,
  RUN_STATUSES,
  readInteger,
  readOptionalTime,
  readTime,
  safeInteger,
  text,
} from "./values.js";

export interface DeploymentRecord {
  spec: DeploymentSpec;
  state: DeploymentState;
  created_at: unknown;
  updated_at: unknown;
  last_error: string | null;
  owner_run: string | null;
}

export interface RunRecord {
  id: string;
  status: RunStatus;
  model: string;
  runtimes: string[];
  config: unknown;
  seed: unknown;
  environment: unknown;
  created_at: unknown;
  started_at: unknown;
  finished_at: unknown;
  error: string | null;
  owner: string | null;
}

export interface ResultRecord {
  run_id: string;
  workload: string;
  runtime: string;
  metrics: unknown;
}

export interface ArtifactRecord {
  run_id: string;
  name: string;
  uri: string;
  bytes: unknown;
  content_type: string;
  uploaded: boolean;
}

export const DEPLOYMENT_COLUMNS = "spec, state, created_at, updated_at, last_error, owner_run";
export const RUN_COLUMNS =
  "id, status, model, runtimes, config, seed, environment, created_at, started_at, finished_at, error, owner";
export const RESULT_COLUMNS = "run_id, workload, runtime, metrics";
export const ARTIFACT_COLUMNS = "run_id, name, uri, bytes, content_type, uploaded";

export type RunPatch = Partial<Omit<RunRow, "id" | "createdAt" | "owner">>;

/** How each field of a run patch is checked and which column it sets (`::text::jsonb` for JSON). */
export const RUN_PATCH: {
  [K in keyof Required<RunPatch>]: { column: string; encode: (v: unknown) => unknown };
} = {
  status: { column: "status", encode: (v) => oneOf(v, RUN_STATUSES, "status") },
  model: { column: "model", encode: (v) => text(v, "model") },
  runtimes: { column: "runtimes", encode: (v) => runtimesJson(v) },
  config: { column: "config", encode: (v) => jsonText(v, "config") },
  seed: { column: "seed", encode: (v) => safeInteger(v, "seed") },
  environment: { column: "environment", encode: (v) => jsonText(v, "environment") },
  startedAt: { column: "started_at", encode: (v) => optionalIsoTime(v, "startedAt") },
  finishedAt: { column: "finished_at", encode: (v) => optionalIsoTime(v, "finishedAt") },
  error: { column: "error", encode: (v) => optionalText(v, "error") },
};

export const JSON_COLUMNS = new Set(["runtimes", "config", "environment"]);

export function runtimesJson(value: unknown): string {
  if (!Array.isArray(value) || value.some((r) => typeof r !== "string" || r === "")) {
    throw new TokenForgeError("invalid_request", "runtimes: must be an array of runtime names", {
      field: "runtimes",
    });
  }
  return JSON.stringify(value);
}

/**
 * The optional fields of a row that have a value: a NULL column reads back as an absent
 * property, never as null or undefined.
 */
export function presentFields<T extends Record<string, unknown>>(
  fields: T,
): { [K in keyof T]?: Exclude<T[K], null | undefined> } {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value !== null && value !== undefined) out[key] = value;
  }
  return out as { [K in keyof T]?: Exclude<T[K], null | undefined> };
}

export function toDeployment(r: DeploymentRecord): DeploymentRow {
  return {
    spec: r.spec,
    state: r.state,
    createdAt: readTime(r.created_at),
    updatedAt: readTime(r.updated_at),
    ...presentFields({ lastError: r.last_error, ownerRun: r.owner_run }),
  };
}

export function toRun(r: RunRecord): RunRow {
  return {
    id: r.id,
    status: r.status,
    model: r.model,
    runtimes: r.runtimes,
    config: r.config,
    seed: readInteger(r.seed),
    environment: r.environment,
    createdAt: readTime(r.created_at),
    ...presentFields({
      startedAt: readOptionalTime(r.started_at),
      finishedAt: readOptionalTime(r.finished_at),
      error: r.error,
      owner: r.owner,
    }),
  };
}

export function toResult(r: ResultRecord): ResultRow {
  return { runId: r.run_id, workload: r.workload, runtime: r.runtime, metrics: r.metrics };
}

export function toArtifact(r: ArtifactRecord): ArtifactRow {
  return {
    runId: r.run_id,
    name: r.name,
    uri: r.uri,
    bytes: readInteger(r.bytes),
    contentType: r.content_type,
    uploaded: r.uploaded,
  };
}
