/**
 * The store conformance suite: one set of tests run against every backend, embedded PGlite (in
 * memory) and the real PostgreSQL server (TOKENFORGE_TEST_DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/test), each PostgreSQL run in a schema of its own that is
 * dropped afterwards. Where PostgreSQL cannot be reached its half is skipped with the reason
 * printed, except under CI, where it fails.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { WorkloadMetrics } from "../../src/bench/metric-types.js";
import { readEnv } from "../../src/config.js";
import { isTokenForgeError } from "../../src/errors.js";
import type { DeploymentSpec } from "../../src/spec/deployment.js";
import type { ArtifactRow, DeploymentRow, RunRow, Store } from "../../src/spec/store.js";
import type { Db } from "../../src/store/db/db.js";
import { MIGRATIONS, migrate } from "../../src/store/db/migrations.js";
import { openStore } from "../../src/store/db/open.js";
import { openPglite } from "../../src/store/db/pglite.js";
import { describeUrl, openPostgres } from "../../src/store/db/postgres.js";
import { SqlStore } from "../../src/store/db/sql-store.js";

const PG_URL = process.env.TOKENFORGE_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

async function postgresUnreachable(url: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query("SELECT 1");
    return undefined;
  } catch (err) {
    return `${(err as Error).message || (err as { code?: string }).code || String(err)}`;
  } finally {
    await client.end().catch(() => {});
  }
}

const pgProblem = await postgresUnreachable(PG_URL);
const skipPostgres = pgProblem !== undefined && !process.env.CI;
if (skipPostgres) {
  console.warn(
    `skipping the PostgreSQL half of the store suite: cannot reach ${describeUrl(PG_URL)} (${pgProblem}); set TOKENFORGE_TEST_DATABASE_URL`,
  );
}

/** A URL whose connections use `schema` first (libpq's `options` parameter). */
function withSearchPath(url: string, schema: string): string {
  const u = new URL(url);
  u.searchParams.set("options", `-c search_path=${schema}`);
  return u.toString();
}

interface Backend {
  name: string;
  skip: boolean;
  open(): Promise<{ db: Db; cleanup: () => Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: "PGlite (memory)",
    skip: false,
    async open() {
      const db = await openPglite("memory://");
      return { db, cleanup: async () => {} };
    },
  },
  {
    name: "PostgreSQL",
    skip: skipPostgres,
    async open() {
      if (pgProblem !== undefined)
        throw new Error(`PostgreSQL at ${describeUrl(PG_URL)} is unreachable: ${pgProblem}`);
      const schema = `tf_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
      const admin = new pg.Client({ connectionString: PG_URL });
      await admin.connect();
      await admin.query(`CREATE SCHEMA ${schema}`);
      const db = await openPostgres(withSearchPath(PG_URL, schema), { max: 4 });
      return {
        db,
        cleanup: async () => {
          try {
            await admin.query(`DROP SCHEMA ${schema} CASCADE`);
          } finally {
            await admin.end();
          }
        },
      };
    },
  },
];

/** The error a promise rejects with, or a failure when it resolves. */
async function rejection(
  p: Promise<unknown>,
): Promise<{ code: string; field: string | undefined; message: string }> {
  try {
    await p;
  } catch (err) {
    if (!isTokenForgeError(err)) throw err;
    return { code: err.code, field: err.field, message: err.message };
  }
  throw new Error("expected a rejection");
}

function spec(id: string, over: Partial<DeploymentSpec> = {}): DeploymentSpec {
  return {
    id,
    model: "synthetic:tiny",
    runtime: "llamacpp",
    quant: "q8_0",
    replicas: 2,
    resources: { cpu: "4", memory: "8Gi" },
    target: "local",
    engineArgs: ["--parallel", "4"],
    ...over,
  };
}

function run(id: string, over: Partial<RunRow> = {}): RunRow {
  return {
    id,
    status: "queued",
    model: "synthetic:tiny",
    runtimes: ["llamacpp"],
    config: {
      model: "synthetic:tiny",
      runtimes: ["llamacpp"],
      seed: 42,
      workloads: [{ name: "chat", qps: 2.5, numRequests: 100, inputTokens: { kind: "fixed", value: 128 } }],
      targets: {},
    },
    seed: 42,
    environment: {
      tokenforge: "0.1.0",
      node: "v22.23.3",
      platform: "linux",
      arch: "x64",
      cpuModel: "AMD EPYC 9654 96-Core Processor",
      cpuCount: 16,
      memoryBytes: 68_719_476_736,
      engines: { llamacpp: { version: "b6000", args: ["--parallel", "4", "--ctx-size", "4096"] } },
    },
    createdAt: "2026-01-01T00:00:00.000Z",
    ...over,
  };
}

const summary = (base: number) => ({
  count: 1000,
  mean: base * 1.1,
  stdev: base / 7,
  p50: base,
  p90: base * 1.5,
  p95: base * 1.75,
  p99: base * 2.25,
  max: base * 3.0001,
  min: base / 3,
});

/** A complete WorkloadMetrics as the aggregator makes it, with awkward numbers for JSON. */
const METRICS: WorkloadMetrics = {
  warmupRequests: 8,
  counts: { total: 1000, ok: 997, errored: 2, incomplete: 1 },
  errorSamples: [
    { outcome: "error", status: 503, error: 'over capacity: "slots" full ✓', count: 2 },
    { outcome: "incomplete", error: "stream ended before [DONE]", count: 1 },
  ],
  window: { startMs: 0.123456789, endMs: 400_012.987654321 },
  durationS: 400.012864197531,
  offeredQps: 2.5,
  tokenSource: "server-tokenize",
  ttftMs: summary(41.71875),
  ttftFromScheduledMs: summary(42 + 2 ** -48),
  e2eMs: summary(1234.5678901234567),
  e2eFromScheduledMs: summary(1235.1),
  tpotMs: summary(0.1 + 0.2),
  itlMs: { ...summary(9.5367431640625e-7), count: 126_873 },
  tokensPerChunk: 1.0000001,
  clientLagMs: summary(0.000123),
  excluded: { ttft: 0, e2e: 0, tpot: 3, itl: 1, tokensPerChunk: 0, peakOutputTokens: 0 },
  tokens: { input: 128_000, output: 127_616, usageMissing: 0 },
  requestThroughput: 997 / 400.012864197531,
  inputTokenThroughput: 319.98971,
  outputTokenThroughput: 319.02973061,
  totalTokenThroughput: 639.01944061,
  peakOutputTokensPerS: 412,
  peakConcurrency: 17,
  goodput: { slo: { ttftMs: 200, tpotMs: 50 }, met: 990, requestsPerS: 2.474920493, fraction: 0.99 },
  tokenMismatch: {
    compared: 997,
    promptVsPlanned: 0,
    completionVsRequested: 0,
    completionVsChunks: 0,
    plannedPromptTokens: 127_616,
    serverPromptTokens: 127_616,
    requestedCompletionTokens: 127_616,
    serverCompletionTokens: 127_616,
  },
  cost: {
    dollarsPerHour: 2.49,
    costPer1MInputTokens: 2.161527777777778,
    costPer1MOutputTokens: (2.49 * 1e6) / (319.02973061 * 3600),
    costPer1MTotalTokens: 1.0824e-12,
  },
  queuedRequests: 0,
  lagWarning: false,
  warnings: ["1 request(s) ended before [DONE]", "unicode: ünïcødé — 漢字 — 🚀"],
};

describe.each(backends)("store on $name", (backend) => {
  let db: Db;
  let store: SqlStore;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    if (backend.skip) return;
    ({ db, cleanup } = await backend.open());
    store = new SqlStore(db);
    await store.migrate();
  });

  afterAll(async () => {
    if (backend.skip) return;
    await store?.close();
    await cleanup?.();
  });

  beforeEach(async () => {
    if (backend.skip) return;
    await db.exec("TRUNCATE deployments, runs, results, artifacts");
  });

  const test = backend.skip ? it.skip : it;

  test("migrating again applies nothing and keeps the ledger", async () => {
    expect(await migrate(db)).toEqual([]);
    await store.migrate();
    const { rows } = await db.query<{ version: number; name: string; applied_at: unknown }>(
      "SELECT version, name, applied_at FROM schema_migrations ORDER BY version",
    );
    expect(rows.map((r) => [Number(r.version), r.name])).toEqual(MIGRATIONS.map((m) => [m.version, m.name]));
    expect(rows.every((r) => r.applied_at instanceof Date)).toBe(true);
  });

  test("a failed migration leaves nothing behind", async () => {
    const broken = [
      ...MIGRATIONS,
      { version: 9001, name: "half", sql: "CREATE TABLE half_done (x int); SELECT no_such_function();" },
    ];
    await expect(migrate(db, broken)).rejects.toThrow(/no_such_function/);
    const { rows } = await db.query("SELECT version FROM schema_migrations WHERE version = 9001");
    expect(rows).toEqual([]);
    const tables = await db.query("SELECT 1 FROM information_schema.tables WHERE table_name = 'half_done'");
    expect(tables.rows).toEqual([]);
  });

  test("a transaction that throws writes nothing", async () => {
    await expect(
      db.transaction(async (tx) => {
        await tx.query(
          "INSERT INTO deployments (id, spec, state, created_at, updated_at) VALUES ($1, '{}', 'pending', now(), now())",
          ["tx"],
        );
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(await store.getDeployment("tx")).toBeUndefined();
  });

  test("deployments: put, get, list, replace, delete", async () => {
    const a: DeploymentRow = {
      spec: spec("dep-a"),
      state: "pending",
      createdAt: "2026-01-01T00:00:00.000Z",
      updatedAt: "2026-01-01T00:00:00.000Z",
    };
    const b: DeploymentRow = {
      spec: spec("dep-b", {
        runtime: "vllm",
        quant: undefined,
        resources: { gpus: 1 },
        target: "kubernetes",
      }),
      state: "ready",
      createdAt: "2026-01-02T00:00:00+02:00",
      updatedAt: "2026-01-02T00:00:01Z",
      lastError: "replica 0 restarted",
    };
    await store.putDeployment(a);
    await store.putDeployment(b);
    expect(await store.getDeployment("dep-a")).toStrictEqual(a);
    const { quant: _dropped, ...bSpec } = b.spec;
    expect(await store.getDeployment("dep-b")).toStrictEqual({
      ...b,
      spec: bSpec,
      createdAt: "2026-01-01T22:00:00.000Z",
      updatedAt: "2026-01-02T00:00:01.000Z",
    });
    expect((await store.listDeployments()).map((d) => d.spec.id)).toEqual(["dep-a", "dep-b"]);

    // A put replaces the state but keeps the creation time.
    await store.putDeployment({
      ...a,
      state: "failed",
      createdAt: "2030-01-01T00:00:00.000Z",
      updatedAt: "2026-01-01T00:05:00.000Z",
      lastError: "exit code 1",
    });
    expect(await store.getDeployment("dep-a")).toStrictEqual({
      ...a,
      state: "failed",
      updatedAt: "2026-01-01T00:05:00.000Z",
      lastError: "exit code 1",
    });

    expect(await store.deleteDeployment("dep-a")).toBe(true);
    expect(await store.deleteDeployment("dep-a")).toBe(false);
    expect(await store.getDeployment("dep-a")).toBeUndefined();
    expect((await store.listDeployments()).map((d) => d.spec.id)).toEqual(["dep-b"]);
  });

  test("deployments keep the run that owns them; a run may end interrupted", async () => {
    const owned: DeploymentRow = {
      spec: spec("dep-owned"),
      state: "ready",
      createdAt: "2026-01-01T00:00:00.000Z",
      updatedAt: "2026-01-01T00:00:00.000Z",
      ownerRun: "r-owner",
    };
    await store.putDeployment(owned);
    expect(await store.getDeployment("dep-owned")).toStrictEqual(owned);
    await store.putDeployment({ ...owned, ownerRun: undefined });
    expect((await store.getDeployment("dep-owned"))?.ownerRun).toBeUndefined();
    await store.deleteDeployment("dep-owned");
    await store.createRun(run("r-int", { status: "running" }));
    await store.updateRun("r-int", { status: "interrupted", error: "the gateway stopped" });
    expect((await store.getRun("r-int"))?.status).toBe("interrupted");
    expect((await store.listRuns({ status: "interrupted" })).map((r) => r.id)).toEqual(["r-int"]);
  });

  test("deployments: a bad state or time is invalid_request and stores nothing", async () => {
    const row = { spec: spec("bad"), state: "exploded", createdAt: "2026-01-01T00:00:00Z", updatedAt: "now" };
    const e1 = await rejection(store.putDeployment(row as unknown as DeploymentRow));
    expect(e1).toMatchObject({ code: "invalid_request", field: "state" });
    expect(e1.message).toContain("pending, starting, ready, failed, stopped");
    const e2 = await rejection(store.putDeployment({ ...row, state: "ready" } as DeploymentRow));
    expect(e2).toMatchObject({ code: "invalid_request", field: "updatedAt" });
    expect(await store.listDeployments()).toEqual([]);
  });

  test("runs: create and get round-trip every field; absent optionals stay absent", async () => {
    const r = run("r1");
    await store.createRun(r);
    expect(await store.getRun("r1")).toStrictEqual(r);
    expect(await store.getRun("nope")).toBeUndefined();

    const full = run("r2", {
      status: "complete",
      seed: Number.MAX_SAFE_INTEGER,
      startedAt: "2026-01-01T00:00:01.250Z",
      finishedAt: "2026-01-01T00:10:00.000Z",
      error: "",
    });
    await store.createRun(full);
    expect(await store.getRun("r2")).toStrictEqual(full);
  });

  test("runs: update changes only the given fields", async () => {
    await store.createRun(run("r1"));
    await store.updateRun("r1", { status: "running", startedAt: "2026-01-01T00:00:02Z" });
    const refused = await rejection(
      store.updateRun("r1", {
        status: "failed",
        finishedAt: "2026-01-01T00:03:00.000Z",
        error2: undefined,
      } as never),
    );
    expect(refused).toMatchObject({ code: "invalid_request", field: "error2" });
    // The unknown key above was refused, so nothing changed.
    expect((await store.getRun("r1"))?.status).toBe("running");

    await store.updateRun("r1", {
      status: "failed",
      finishedAt: "2026-01-01T00:03:00.000Z",
      error: "worker exited with code 1",
      environment: { tokenforge: "0.1.1" },
      runtimes: ["llamacpp", "vllm"],
      model: undefined,
    });
    expect(await store.getRun("r1")).toStrictEqual({
      ...run("r1"),
      status: "failed",
      startedAt: "2026-01-01T00:00:02.000Z",
      finishedAt: "2026-01-01T00:03:00.000Z",
      error: "worker exited with code 1",
      environment: { tokenforge: "0.1.1" },
      runtimes: ["llamacpp", "vllm"],
    });
    await store.updateRun("r1", {});
    expect((await store.getRun("r1"))?.status).toBe("failed");
  });

  test("runs: update of an unknown run is not_found, a bad patch is invalid_request", async () => {
    expect(await rejection(store.updateRun("ghost", { status: "running" }))).toMatchObject({
      code: "not_found",
      field: "id",
    });
    expect(await rejection(store.updateRun("ghost", {}))).toMatchObject({ code: "not_found" });
    await store.createRun(run("r1"));
    expect(await rejection(store.updateRun("r1", { id: "r9" } as never))).toMatchObject({
      code: "invalid_request",
      field: "id",
    });
    expect(await rejection(store.updateRun("r1", { status: "done" } as never))).toMatchObject({
      code: "invalid_request",
      field: "status",
    });
    expect(await rejection(store.updateRun("r1", { seed: 1.5 }))).toMatchObject({
      code: "invalid_request",
      field: "seed",
    });
    expect(await store.getRun("r1")).toStrictEqual(run("r1"));
  });

  test("runs: a duplicate id is a conflict and changes nothing", async () => {
    const original = run("dup");
    await store.createRun(original);
    const err = await rejection(store.createRun(run("dup", { status: "running", model: "other" })));
    expect(err.code).toBe("conflict");
    expect(err.message).toContain('run "dup" already exists');
    expect(await store.getRun("dup")).toStrictEqual(original);
    expect(await store.listRuns()).toHaveLength(1);
  });

  test("runs: list filters by model, runtime and status, newest first, with a limit", async () => {
    const rows: RunRow[] = [
      run("a", {
        model: "m1",
        runtimes: ["llamacpp"],
        status: "complete",
        createdAt: "2026-01-01T00:00:00Z",
      }),
      run("b", {
        model: "m1",
        runtimes: ["vllm", "llamacpp"],
        status: "failed",
        createdAt: "2026-01-03T00:00:00Z",
      }),
      run("c", { model: "m2", runtimes: ["vllm"], status: "complete", createdAt: "2026-01-02T00:00:00Z" }),
      run("d", { model: "m2", runtimes: ["sim"], status: "running", createdAt: "2026-01-04T00:00:00Z" }),
      // Same time as d: ties break by id, descending.
      run("e", {
        model: "m1",
        runtimes: ["llamacpp-x"],
        status: "queued",
        createdAt: "2026-01-04T00:00:00Z",
      }),
    ];
    for (const r of rows) await store.createRun(r);
    const ids = async (f?: Parameters<Store["listRuns"]>[0]) => (await store.listRuns(f)).map((r) => r.id);

    expect(await ids()).toEqual(["e", "d", "b", "c", "a"]);
    expect(await ids({ model: "m1" })).toEqual(["e", "b", "a"]);
    // Whole names only: "llamacpp-x" is not "llamacpp".
    expect(await ids({ runtime: "llamacpp" })).toEqual(["b", "a"]);
    expect(await ids({ runtime: "vllm" })).toEqual(["b", "c"]);
    expect(await ids({ status: "complete" })).toEqual(["c", "a"]);
    expect(await ids({ model: "m1", runtime: "vllm", status: "failed" })).toEqual(["b"]);
    expect(await ids({ model: "m3" })).toEqual([]);
    expect(await ids({ limit: 2 })).toEqual(["e", "d"]);
    expect((await store.listRuns({ model: "m1", limit: 1 }))[0]).toStrictEqual({
      ...rows[4],
      createdAt: "2026-01-04T00:00:00.000Z",
    });

    expect(await rejection(store.listRuns({ limit: 0 }))).toMatchObject({
      code: "invalid_request",
      field: "limit",
    });
    expect(await rejection(store.listRuns({ status: "lost" as never }))).toMatchObject({
      code: "invalid_request",
      field: "status",
    });
  });

  test("runs: list returns at most 100 by default", async () => {
    await db.transaction(async (tx) => {
      for (let i = 0; i < 105; i++) {
        await tx.query(
          `INSERT INTO runs (id, status, model, runtimes, config, seed, environment, created_at)
           VALUES ($1, 'complete', 'm', '["sim"]', '{}', 1, '{}', $2::text::timestamptz)`,
          [`bulk-${String(i).padStart(3, "0")}`, new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString()],
        );
      }
    });
    const listed = await store.listRuns();
    expect(listed).toHaveLength(100);
    expect(listed[0]?.id).toBe("bulk-104");
    expect(await store.listRuns({ limit: 1000 })).toHaveLength(105);
  });

  test("results: every metric round-trips exactly; the query columns are filled", async () => {
    await store.createRun(run("r1", { runtimes: ["llamacpp", "vllm"] }));
    await store.putResult({ runId: "r1", workload: "chat", runtime: "llamacpp", metrics: METRICS });
    const sparse: Partial<WorkloadMetrics> = {
      ...METRICS,
      ttftMs: undefined,
      outputTokenThroughput: undefined,
    };
    await store.putResult({ runId: "r1", workload: "chat", runtime: "vllm", metrics: sparse });

    const results = await store.listResults("r1");
    expect(results.map((r) => [r.workload, r.runtime])).toEqual([
      ["chat", "llamacpp"],
      ["chat", "vllm"],
    ]);
    expect(results[0]).toStrictEqual({
      runId: "r1",
      workload: "chat",
      runtime: "llamacpp",
      metrics: METRICS,
    });
    expect(JSON.stringify(sortKeys(results[0]?.metrics))).toBe(JSON.stringify(sortKeys(METRICS)));
    const { ttftMs: _t, outputTokenThroughput: _o, ...withoutUnknowns } = METRICS;
    expect(results[1]?.metrics).toStrictEqual(withoutUnknowns);

    const { rows } = await db.query<Record<string, number | null>>(
      `SELECT runtime, ttft_p50_ms, ttft_p99_ms, output_tokens_per_s, request_throughput
       FROM results WHERE run_id = 'r1' ORDER BY runtime`,
    );
    expect(rows).toEqual([
      {
        runtime: "llamacpp",
        ttft_p50_ms: METRICS.ttftMs?.p50,
        ttft_p99_ms: METRICS.ttftMs?.p99,
        output_tokens_per_s: METRICS.outputTokenThroughput,
        request_throughput: METRICS.requestThroughput,
      },
      // Unknown stays unknown (NULL), never 0.
      {
        runtime: "vllm",
        ttft_p50_ms: null,
        ttft_p99_ms: null,
        output_tokens_per_s: null,
        request_throughput: METRICS.requestThroughput,
      },
    ]);
  });

  test("results: a put replaces the same workload and runtime, keeping its place", async () => {
    await store.createRun(run("r1"));
    await store.putResult({
      runId: "r1",
      workload: "w1",
      runtime: "llamacpp",
      metrics: { requestThroughput: 1 },
    });
    await store.putResult({
      runId: "r1",
      workload: "w0",
      runtime: "llamacpp",
      metrics: { requestThroughput: 2 },
    });
    await store.putResult({
      runId: "r1",
      workload: "w1",
      runtime: "llamacpp",
      metrics: { requestThroughput: 3 },
    });
    expect((await store.listResults("r1")).map((r) => [r.workload, r.metrics])).toEqual([
      ["w1", { requestThroughput: 3 }],
      ["w0", { requestThroughput: 2 }],
    ]);
    expect(await store.listResults("other")).toEqual([]);
  });

  test("results: an unknown run is not_found, a non-finite metric is invalid_request; nothing stored", async () => {
    const e1 = await rejection(
      store.putResult({ runId: "ghost", workload: "w", runtime: "sim", metrics: METRICS }),
    );
    expect(e1).toMatchObject({ code: "not_found", field: "runId" });
    await store.createRun(run("r1"));
    const e2 = await rejection(
      store.putResult({
        runId: "r1",
        workload: "w",
        runtime: "sim",
        metrics: { ...METRICS, durationS: Number.NaN },
      }),
    );
    expect(e2).toMatchObject({ code: "invalid_request", field: "metrics.durationS" });
    const e3 = await rejection(
      store.putResult({
        runId: "r1",
        workload: "w",
        runtime: "sim",
        metrics: { a: [1, Number.POSITIVE_INFINITY] },
      }),
    );
    expect(e3).toMatchObject({ code: "invalid_request", field: "metrics.a[1]" });
    const { rows } = await db.query("SELECT 1 FROM results");
    expect(rows).toEqual([]);
  });

  test("artifacts: put, list by name, mark uploaded; an unknown run is not_found", async () => {
    await store.createRun(run("r1"));
    const traces: ArtifactRow = {
      runId: "r1",
      name: "requests.jsonl.gz",
      uri: "file:///var/tokenforge/artifacts/r1/requests.jsonl.gz",
      bytes: 5_368_709_120,
      contentType: "application/gzip",
      uploaded: false,
    };
    const report: ArtifactRow = {
      runId: "r1",
      name: "report.html",
      uri: "s3://results/r1/report.html",
      bytes: 0,
      contentType: "text/html; charset=utf-8",
      uploaded: true,
    };
    await store.putArtifact(traces);
    await store.putArtifact(report);
    expect(await store.listArtifacts("r1")).toStrictEqual([report, traces]);

    const uploaded = { ...traces, uri: "s3://results/r1/requests.jsonl.gz", uploaded: true };
    await store.putArtifact(uploaded);
    expect(await store.listArtifacts("r1")).toStrictEqual([report, uploaded]);

    expect(await rejection(store.putArtifact({ ...traces, runId: "ghost" }))).toMatchObject({
      code: "not_found",
      field: "runId",
    });
    expect(await rejection(store.putArtifact({ ...traces, name: "x", bytes: -1 }))).toMatchObject({
      code: "invalid_request",
      field: "bytes",
    });
    expect(await store.listArtifacts("ghost")).toEqual([]);
    expect(await store.listArtifacts("r1")).toHaveLength(2);
  });

  test("deleting a run removes its results and artifacts", async () => {
    await store.createRun(run("r1"));
    await store.createRun(run("r2"));
    for (const id of ["r1", "r2"]) {
      await store.putResult({ runId: id, workload: "w", runtime: "llamacpp", metrics: METRICS });
      await store.putArtifact({
        runId: id,
        name: "result.json",
        uri: `file:///tmp/${id}/result.json`,
        bytes: 10,
        contentType: "application/json",
        uploaded: true,
      });
    }
    await db.query("DELETE FROM runs WHERE id = $1", ["r1"]);
    expect(await store.listResults("r1")).toEqual([]);
    expect(await store.listArtifacts("r1")).toEqual([]);
    expect(await store.listResults("r2")).toHaveLength(1);
    expect(await store.listArtifacts("r2")).toHaveLength(1);
  });
});

describe("openStore", () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "tokenforge-store-"));
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("keeps a PGlite data directory across reopening", async () => {
    const dataDir = join(dir, "nested", "data");
    const first = await openStore({ dataDir });
    expect((first as SqlStore).backend).toBe("pglite");
    await first.createRun(run("kept", { status: "complete" }));
    await first.putResult({ runId: "kept", workload: "chat", runtime: "llamacpp", metrics: METRICS });
    await first.close();

    const second = await openStore({ dataDir, databaseUrl: "" });
    try {
      expect(await second.getRun("kept")).toStrictEqual(run("kept", { status: "complete" }));
      expect((await second.listResults("kept"))[0]?.metrics).toStrictEqual(METRICS);
      expect(await rejection(second.createRun(run("kept")))).toMatchObject({ code: "conflict" });
    } finally {
      await second.close();
    }
  });

  it.skipIf(skipPostgres)(
    "uses PostgreSQL when a database URL is given; two at once migrate once",
    async () => {
      const schema = `tf_test_open_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
      const admin = new pg.Client({ connectionString: PG_URL });
      await admin.connect();
      try {
        await admin.query(`CREATE SCHEMA ${schema}`);
        const url = withSearchPath(PG_URL, schema);
        const stores = await Promise.all(
          [1, 2].map(() => openStore({ databaseUrl: url, dataDir: join(dir, "unused") })),
        );
        try {
          expect(stores.map((s) => (s as SqlStore).backend)).toEqual(["postgres", "postgres"]);
          await stores[0]!.createRun(run("pg-run"));
          expect((await stores[1]!.getRun("pg-run"))?.id).toBe("pg-run");
          const runs = await admin.query(`SELECT id FROM ${schema}.runs`);
          expect(runs.rows).toEqual([{ id: "pg-run" }]);
          const ledger = await admin.query(`SELECT version FROM ${schema}.schema_migrations`);
          expect(ledger.rows).toHaveLength(MIGRATIONS.length);
        } finally {
          await Promise.all(stores.map((s) => s.close()));
        }
      } finally {
        await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await admin.end();
      }
    },
  );

  it("an unreachable PostgreSQL is an io_error that names the server but not the password", async () => {
    const err = await rejection(
      openStore({ databaseUrl: "postgres://u:s3cret@127.0.0.1:1/db", dataDir: join(dir, "unused") }),
    );
    expect(err.code).toBe("io_error");
    expect(err.message).toContain("127.0.0.1:1/db");
    expect(err.message).not.toContain("s3cret");
  });

  it("reads DATABASE_URL and TOKENFORGE_DATA_DIR in config", () => {
    expect(readEnv({ TOKENFORGE_HOME: "/h" })).toMatchObject({ databaseUrl: undefined, dataDir: "/h/data" });
    expect(readEnv({ DATABASE_URL: "", TOKENFORGE_DATA_DIR: "/d" })).toMatchObject({
      databaseUrl: undefined,
      dataDir: "/d",
    });
    expect(readEnv({ DATABASE_URL: PG_URL }).databaseUrl).toBe(PG_URL);
  });
});

/** JSON with keys sorted at every level: jsonb keeps its own key order, the values must match. */
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (typeof v === "object" && v !== null) {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}
