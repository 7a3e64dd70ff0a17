/**
 * The schema, as ordered migrations. A migration, once released, is never edited: change the
 * schema by appending one. `migrate` applies the pending ones, each in its own transaction under an
 * advisory lock (two processes starting at once on one PostgreSQL database apply each once), and
 * records them in `schema_migrations`. The SQL is what both PGlite and PostgreSQL 15 accept.
 */
import { TokenForgeError } from "../../errors.js";
import type { Db, Queryable } from "./db.js";

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "deployments, runs, results, artifacts",
    sql: `
CREATE TABLE deployments (
  id text PRIMARY KEY,
  spec jsonb NOT NULL,
  state text NOT NULL CHECK (state IN ('pending', 'starting', 'ready', 'failed', 'stopped')),
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  last_error text
);

CREATE TABLE runs (
  id text PRIMARY KEY,
  status text NOT NULL
    CHECK (status IN ('queued', 'running', 'complete', 'incomplete', 'failed', 'cancelled')),
  model text NOT NULL,
  runtimes jsonb NOT NULL CHECK (jsonb_typeof(runtimes) = 'array'),
  config jsonb NOT NULL,
  seed bigint NOT NULL,
  environment jsonb NOT NULL,
  created_at timestamptz NOT NULL,
  started_at timestamptz,
  finished_at timestamptz,
  error text
);
CREATE INDEX runs_created_at_idx ON runs (created_at DESC, id DESC);
CREATE INDEX runs_model_idx ON runs (model, created_at DESC);
CREATE INDEX runs_status_idx ON runs (status, created_at DESC);
CREATE INDEX runs_runtimes_idx ON runs USING gin (runtimes jsonb_path_ops);

CREATE TABLE results (
  run_id text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  workload text NOT NULL,
  runtime text NOT NULL,
  metrics jsonb NOT NULL,
  ttft_p50_ms double precision,
  ttft_p99_ms double precision,
  output_tokens_per_s double precision,
  request_throughput double precision,
  -- Insertion order, so a run's results list in the order they were measured.
  seq bigint GENERATED ALWAYS AS IDENTITY,
  PRIMARY KEY (run_id, workload, runtime)
);
CREATE INDEX results_runtime_idx ON results (runtime, workload);

CREATE TABLE artifacts (
  run_id text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  name text NOT NULL,
  uri text NOT NULL,
  bytes bigint NOT NULL CHECK (bytes >= 0),
  content_type text NOT NULL,
  uploaded boolean NOT NULL,
  PRIMARY KEY (run_id, name)
);
CREATE INDEX artifacts_pending_idx ON artifacts (run_id) WHERE NOT uploaded;
`,
  },
  {
    version: 2,
    name: "interrupted runs, deployments owned by a run",
    sql: `
ALTER TABLE runs DROP CONSTRAINT runs_status_check;
ALTER TABLE runs ADD CONSTRAINT runs_status_check
  CHECK (status IN ('queued', 'running', 'complete', 'incomplete', 'failed', 'cancelled', 'interrupted'));
-- The run that deployed it for itself, when one did: removed with the run, never restored.
ALTER TABLE deployments ADD COLUMN owner_run text;
`,
  },
  {
    version: 3,
    name: "API keys, the key that started a run",
    sql: `
-- Only the SHA-256 of a key's secret is kept: the secret itself is shown once, at creation.
CREATE TABLE api_keys (
  id text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  role text NOT NULL CHECK (role IN ('admin', 'user')),
  hash text NOT NULL UNIQUE CHECK (hash ~ '^[0-9a-f]{64}$'),
  created_at timestamptz NOT NULL,
  revoked_at timestamptz,
  last_used_at timestamptz
);
-- The API key that started a run (absent for runs started without keys, or before keys existed).
ALTER TABLE runs ADD COLUMN owner text;
CREATE INDEX runs_owner_idx ON runs (owner, created_at DESC);
`,
  },
];

/** Any constant: the key of the advisory lock that serializes migrations on one database. */
const LOCK_KEY = 7_461_626_001;

const CREATE_LEDGER = `
CREATE TABLE IF NOT EXISTS schema_migrations (
  version integer PRIMARY KEY,
  name text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;

/** Applies the migrations not applied yet; returns the versions it applied (none the second time). */
export async function migrate(db: Db, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  const latest = migrations.at(-1)?.version ?? 0;
  const applied: number[] = [];
  const pending = async (tx: Queryable): Promise<Set<number>> => {
    await tx.query(`SELECT pg_advisory_xact_lock(${LOCK_KEY})`);
    await tx.exec(CREATE_LEDGER);
    const { rows } = await tx.query<{ version: number }>("SELECT version FROM schema_migrations");
    const done = new Set(rows.map((r) => Number(r.version)));
    const newest = Math.max(0, ...done);
    if (newest > latest) {
      throw new TokenForgeError(
        "io_error",
        `the database schema is at version ${newest}, newer than this TokenForge knows (${latest}): upgrade TokenForge`,
      );
    }
    return done;
  };
  const done = await db.transaction(pending);
  for (const m of migrations) {
    if (done.has(m.version)) continue;
    const ran = await db.transaction(async (tx) => {
      // Another process may have applied it since the look above.
      if ((await pending(tx)).has(m.version)) return false;
      await tx.exec(m.sql);
      await tx.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [m.version, m.name]);
      return true;
    });
    if (ran) applied.push(m.version);
  }
  return applied;
}
