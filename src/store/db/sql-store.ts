/**
 * The Store seam in SQL, over the tiny `Db` interface, so PGlite and PostgreSQL run the same
 * statements. Every write is one statement (atomic on its own); a refused write changes nothing
 * and surfaces as a coded error (`sql-errors.ts`). jsonb goes in as JSON text and comes out as
 * objects; times come out as ISO strings in UTC. The records read back and their mapping to rows
 * are in `rows.ts`.
 */
import { TokenForgeError } from "../../errors.js";
import type {
  ApiKeyRow,
  ArtifactRow,
  DeploymentRow,
  ResultRow,
  RunFilter,
  RunRow,
  Store,
} from "../../spec/store.js";
import { insertApiKey, revokeApiKey, selectApiKeys, touchApiKeys } from "./api-keys.js";
import type { Db } from "./db.js";
import { migrate } from "./migrations.js";
import {
  ARTIFACT_COLUMNS,
  type ArtifactRecord,
  DEPLOYMENT_COLUMNS,
  type DeploymentRecord,
  JSON_COLUMNS,
  RESULT_COLUMNS,
  type ResultRecord,
  RUN_COLUMNS,
  RUN_PATCH,
  type RunPatch,
  type RunRecord,
  runtimesJson,
  toArtifact,
  toDeployment,
  toResult,
  toRun,
} from "./rows.js";
import { type ErrorContext, toStoreError } from "./sql-errors.js";
import {
  bool,
  DEPLOYMENT_STATES,
  isoTime,
  jsonText,
  numberAt,
  oneOf,
  optionalIsoTime,
  optionalText,
  RUN_STATUSES,
  safeInteger,
  text,
} from "./values.js";

export const DEFAULT_RUN_LIMIT = 100;
export const MAX_RUN_LIMIT = 10_000;

export class SqlStore implements Store {
  constructor(private readonly db: Db) {}

  /** Which database this store is on. */
  get backend(): Db["kind"] {
    return this.db.kind;
  }

  async migrate(): Promise<void> {
    await this.guard({ what: "migrating the store" }, () => migrate(this.db));
  }

  async putDeployment(row: DeploymentRow): Promise<void> {
    const id = text(row.spec?.id, "spec.id");
    const params = [
      id,
      jsonText(row.spec, "spec"),
      oneOf(row.state, DEPLOYMENT_STATES, "state"),
      isoTime(row.createdAt, "createdAt"),
      isoTime(row.updatedAt, "updatedAt"),
      optionalText(row.lastError, "lastError"),
      optionalText(row.ownerRun, "ownerRun"),
    ];
    // A put replaces the deployment but keeps the time it was first created.
    await this.guard({ what: `storing deployment "${id}"` }, () =>
      this.db.query(
        `INSERT INTO deployments (id, spec, state, created_at, updated_at, last_error, owner_run)
         VALUES ($1, $2::text::jsonb, $3, $4::text::timestamptz, $5::text::timestamptz, $6, $7)
         ON CONFLICT (id) DO UPDATE SET spec = EXCLUDED.spec, state = EXCLUDED.state,
           updated_at = EXCLUDED.updated_at, last_error = EXCLUDED.last_error,
           owner_run = EXCLUDED.owner_run`,
        params,
      ),
    );
  }

  async getDeployment(id: string): Promise<DeploymentRow | undefined> {
    const { rows } = await this.guard({ what: `reading deployment "${id}"` }, () =>
      this.db.query<DeploymentRecord>(`SELECT ${DEPLOYMENT_COLUMNS} FROM deployments WHERE id = $1`, [id]),
    );
    return rows[0] && toDeployment(rows[0]);
  }

  async listDeployments(): Promise<DeploymentRow[]> {
    const { rows } = await this.guard({ what: "listing deployments" }, () =>
      this.db.query<DeploymentRecord>(
        `SELECT ${DEPLOYMENT_COLUMNS} FROM deployments ORDER BY created_at, id`,
      ),
    );
    return rows.map(toDeployment);
  }

  async deleteDeployment(id: string): Promise<boolean> {
    const { rows } = await this.guard({ what: `deleting deployment "${id}"` }, () =>
      this.db.query("DELETE FROM deployments WHERE id = $1 RETURNING id", [id]),
    );
    return rows.length > 0;
  }

  async createRun(row: RunRow): Promise<void> {
    const id = text(row.id, "id");
    const params = [
      id,
      oneOf(row.status, RUN_STATUSES, "status"),
      text(row.model, "model"),
      runtimesJson(row.runtimes),
      jsonText(row.config, "config"),
      safeInteger(row.seed, "seed"),
      jsonText(row.environment, "environment"),
      isoTime(row.createdAt, "createdAt"),
      optionalIsoTime(row.startedAt, "startedAt"),
      optionalIsoTime(row.finishedAt, "finishedAt"),
      optionalText(row.error, "error"),
      optionalText(row.owner, "owner"),
    ];
    await this.guard({ what: `creating run "${id}"`, conflict: `run "${id}" already exists` }, () =>
      this.db.query(
        `INSERT INTO runs (${RUN_COLUMNS}) VALUES ($1, $2, $3, $4::text::jsonb, $5::text::jsonb, $6,
           $7::text::jsonb, $8::text::timestamptz, $9::text::timestamptz, $10::text::timestamptz, $11, $12)`,
        params,
      ),
    );
  }

  async updateRun(id: string, patch: RunPatch): Promise<void> {
    const sets: string[] = [];
    const params: unknown[] = [id];
    for (const [key, value] of Object.entries(patch)) {
      const field = RUN_PATCH[key as keyof RunPatch];
      if (field === undefined) {
        throw new TokenForgeError(
          "invalid_request",
          `${key}: a run cannot change it (fields: ${Object.keys(RUN_PATCH).join(", ")})`,
          { field: key },
        );
      }
      // An undefined field leaves the column as it is.
      if (value === undefined) continue;
      params.push(field.encode(value));
      const cast = JSON_COLUMNS.has(field.column)
        ? "::text::jsonb"
        : field.column.endsWith("_at")
          ? "::text::timestamptz"
          : "";
      sets.push(`${field.column} = $${params.length}${cast}`);
    }
    const sql =
      sets.length === 0
        ? "SELECT id FROM runs WHERE id = $1"
        : `UPDATE runs SET ${sets.join(", ")} WHERE id = $1 RETURNING id`;
    const { rows } = await this.guard({ what: `updating run "${id}"` }, () => this.db.query(sql, params));
    if (rows.length === 0) throw new TokenForgeError("not_found", `no run "${id}"`, { field: "id" });
  }

  async getRun(id: string): Promise<RunRow | undefined> {
    const { rows } = await this.guard({ what: `reading run "${id}"` }, () =>
      this.db.query<RunRecord>(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = $1`, [id]),
    );
    return rows[0] && toRun(rows[0]);
  }

  /** Newest first (by createdAt, then id); `limit` defaults to 100. */
  async listRuns(filter: RunFilter = {}): Promise<RunRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.model !== undefined) {
      params.push(filter.model);
      where.push(`model = $${params.length}`);
    }
    if (filter.runtime !== undefined) {
      params.push(JSON.stringify([filter.runtime]));
      where.push(`runtimes @> $${params.length}::text::jsonb`);
    }
    if (filter.status !== undefined) {
      params.push(oneOf(filter.status, RUN_STATUSES, "status"));
      where.push(`status = $${params.length}`);
    }
    if (filter.owner !== undefined) {
      params.push(filter.owner);
      where.push(`owner = $${params.length}`);
    }
    const limit = filter.limit === undefined ? DEFAULT_RUN_LIMIT : safeInteger(filter.limit, "limit", 1);
    if (limit > MAX_RUN_LIMIT) {
      throw new TokenForgeError("invalid_request", `limit: at most ${MAX_RUN_LIMIT}, got ${limit}`, {
        field: "limit",
      });
    }
    params.push(limit);
    const sql =
      `SELECT ${RUN_COLUMNS} FROM runs` +
      (where.length > 0 ? ` WHERE ${where.join(" AND ")}` : "") +
      ` ORDER BY created_at DESC, id DESC LIMIT $${params.length}`;
    const { rows } = await this.guard({ what: "listing runs" }, () => this.db.query<RunRecord>(sql, params));
    return rows.map(toRun);
  }

  /** Stores (or replaces) one workload's metrics on one runtime. */
  async putResult(row: ResultRow): Promise<void> {
    const runId = text(row.runId, "runId");
    const workload = text(row.workload, "workload");
    const runtime = text(row.runtime, "runtime");
    const m = row.metrics;
    const params = [
      runId,
      workload,
      runtime,
      jsonText(m, "metrics"),
      numberAt(m, "ttftMs", "p50"),
      numberAt(m, "ttftMs", "p99"),
      numberAt(m, "outputTokenThroughput"),
      numberAt(m, "requestThroughput"),
    ];
    const ctx: ErrorContext = {
      what: `storing the result of ${workload} on ${runtime} for run "${runId}"`,
      missing: { message: `no run "${runId}"`, field: "runId" },
    };
    await this.guard(ctx, () =>
      this.db.query(
        `INSERT INTO results (run_id, workload, runtime, metrics, ttft_p50_ms, ttft_p99_ms,
           output_tokens_per_s, request_throughput)
         VALUES ($1, $2, $3, $4::text::jsonb, $5, $6, $7, $8)
         ON CONFLICT (run_id, workload, runtime) DO UPDATE SET metrics = EXCLUDED.metrics,
           ttft_p50_ms = EXCLUDED.ttft_p50_ms, ttft_p99_ms = EXCLUDED.ttft_p99_ms,
           output_tokens_per_s = EXCLUDED.output_tokens_per_s, request_throughput = EXCLUDED.request_throughput`,
        params,
      ),
    );
  }

  /** In the order they were first stored. */
  async listResults(runId: string): Promise<ResultRow[]> {
    const { rows } = await this.guard({ what: `listing the results of run "${runId}"` }, () =>
      this.db.query<ResultRecord>(`SELECT ${RESULT_COLUMNS} FROM results WHERE run_id = $1 ORDER BY seq`, [
        runId,
      ]),
    );
    return rows.map(toResult);
  }

  /** Stores (or replaces, e.g. once an upload succeeded) one artifact's index entry. */
  async putArtifact(row: ArtifactRow): Promise<void> {
    const runId = text(row.runId, "runId");
    const name = text(row.name, "name");
    const params = [
      runId,
      name,
      text(row.uri, "uri"),
      safeInteger(row.bytes, "bytes", 0),
      text(row.contentType, "contentType"),
      bool(row.uploaded, "uploaded"),
    ];
    const ctx: ErrorContext = {
      what: `storing artifact "${name}" of run "${runId}"`,
      missing: { message: `no run "${runId}"`, field: "runId" },
    };
    await this.guard(ctx, () =>
      this.db.query(
        `INSERT INTO artifacts (run_id, name, uri, bytes, content_type, uploaded)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (run_id, name) DO UPDATE SET uri = EXCLUDED.uri, bytes = EXCLUDED.bytes,
           content_type = EXCLUDED.content_type, uploaded = EXCLUDED.uploaded`,
        params,
      ),
    );
  }

  /** By name. */
  async listArtifacts(runId: string): Promise<ArtifactRow[]> {
    const { rows } = await this.guard({ what: `listing the artifacts of run "${runId}"` }, () =>
      this.db.query<ArtifactRecord>(
        `SELECT ${ARTIFACT_COLUMNS} FROM artifacts WHERE run_id = $1 ORDER BY name`,
        [runId],
      ),
    );
    return rows.map(toArtifact);
  }

  async createApiKey(row: ApiKeyRow): Promise<void> {
    const ctx = { what: `creating API key "${row.id}"`, conflict: `API key "${row.id}" already exists` };
    await this.guard(ctx, () => insertApiKey(this.db, row));
  }

  async listApiKeys(): Promise<ApiKeyRow[]> {
    return this.guard({ what: "listing API keys" }, () => selectApiKeys(this.db));
  }

  async revokeApiKey(id: string, at: string): Promise<ApiKeyRow | undefined> {
    return this.guard({ what: `revoking API key "${id}"` }, () => revokeApiKey(this.db, id, at));
  }

  async touchApiKeys(ids: readonly string[], at: string): Promise<void> {
    await this.guard({ what: "recording API key use" }, () => touchApiKeys(this.db, ids, at));
  }

  async close(): Promise<void> {
    await this.guard({ what: "closing the store" }, () => this.db.close());
  }

  private async guard<T>(ctx: ErrorContext, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toStoreError(err, ctx);
    }
  }
}
