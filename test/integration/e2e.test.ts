/**
 * End to end on real parts: the gateway with its store on the real PostgreSQL server
 * (127.0.0.1:5432, a database made for this test), artifacts in a real S3-protocol server, and the
 * local backend running llama.cpp on synthetic:tiny. Deploy, infer streamed and whole, run a
 * benchmark through the API, find its results in PostgreSQL and its artifacts in S3, delete the
 * deployment: no worker process remains.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalBackend } from "../../src/control/local/index.js";
import { buildGateway, type Gateway } from "../../src/gateway/app.js";
import { Deployments } from "../../src/gateway/deployments.js";
import { llamaCppRuntime } from "../../src/runtimes/llamacpp/index.js";
import { RuntimeRegistry } from "../../src/runtimes/registry.js";
import type { Store } from "../../src/spec/store.js";
import {
  artifactConfigFromEnv,
  type OpenedArtifactStore,
  openArtifactStore,
} from "../../src/store/artifacts/index.js";
import { openStore } from "../../src/store/db/open.js";
import { type S3TestServer, startS3Server } from "../helpers/s3-server.js";
import { waitFor } from "../helpers/wait-for.js";
import { TEST_CACHE_DIR } from "../helpers/worker.js";

const ADMIN_URL = process.env.TOKENFORGE_TEST_PG ?? "postgres://postgres@127.0.0.1:5432/postgres";
const CLI = join(import.meta.dirname, "..", "..", "src", "cli", "tokenforge.ts");
const self = { command: process.execPath, args: ["--import", "tsx", CLI] };
const database = `tf_e2e_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;

async function admin(sql: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  try {
    await client.connect();
    await client.query(sql);
    return true;
  } catch (err) {
    if (process.env.CI) throw err;
    console.warn(`skipping the PostgreSQL end-to-end test: ${(err as Error).message}`);
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

let available = false;
let dir: string;
let s3: S3TestServer;
let store: Store;
let artifacts: OpenedArtifactStore;
let local: LocalBackend;
let gateway: Gateway;
const pids = new Set<number>();

beforeAll(async () => {
  available = await admin(`CREATE DATABASE ${database}`);
  if (!available) return;
  dir = mkdtempSync(join(tmpdir(), "tokenforge-e2e-"));
  s3 = await startS3Server();
  await s3.createBucket("runs");
  const runtimes = new RuntimeRegistry([llamaCppRuntime(self)]);
  store = await openStore({ databaseUrl: ADMIN_URL.replace(/\/[^/]*$/, `/${database}`), dataDir: "unused" });
  artifacts = openArtifactStore(
    artifactConfigFromEnv(s3.env("runs", { TOKENFORGE_S3_SPOOL_DIR: join(dir, "spool") })),
  );
  local = new LocalBackend({ runtimes, env: { TOKENFORGE_MODEL_CACHE: TEST_CACHE_DIR }, stopGraceMs: 3000 });
  gateway = await buildGateway({
    store,
    deployments: new Deployments(store, { local }, runtimes),
    runtimes,
    artifacts,
    resultsDir: join(dir, "results"),
  });
}, 120_000);

afterAll(async () => {
  if (!available) return;
  await gateway?.close();
  await local?.close();
  await artifacts?.close();
  await store?.close();
  await s3?.close();
  await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  rmSync(dir, { recursive: true, force: true });
});

describe("end to end: deploy, infer, benchmark, store, delete", () => {
  it("runs on PostgreSQL and S3 and leaves no worker behind", async (ctx) => {
    if (!available) ctx.skip();
    const inject = (method: "GET" | "POST" | "DELETE", url: string, payload?: object) =>
      gateway.app.inject({ method, url, ...(payload ? { payload } : {}) });

    const created = await inject("POST", "/deploy", { model: "synthetic:tiny", runtime: "llamacpp" });
    expect(created.statusCode).toBe(202);
    const id = created.json().id;
    await waitFor(async () => (await inject("GET", `/deployments/${id}`)).json().status === "ready", {
      what: `deployment ${id} to be ready`,
      timeoutMs: 90_000,
      intervalMs: 250,
    });
    for (const r of (await local.get(id))!.replicas) if (r.pid) pids.add(r.pid);

    const whole = await inject("POST", "/infer", {
      model: "synthetic:tiny",
      prompt: "Once upon a time",
      max_tokens: 8,
    });
    expect(whole.statusCode).toBe(200);
    expect(whole.json().usage.completion_tokens).toBeGreaterThan(0);
    const streamed = await inject("POST", "/infer", {
      model: "synthetic:tiny",
      prompt: "Hello",
      max_tokens: 6,
      stream: true,
    });
    expect(streamed.body.trim().endsWith("data: [DONE]")).toBe(true);

    const started = await inject("POST", "/benchmarks/run", {
      model: "synthetic:tiny",
      runtimes: ["llamacpp"],
      workloads: [{ name: "e2e", qps: 4, num_requests: 8, prompt_len: 32, gen_tokens: 8 }],
    });
    expect(started.statusCode).toBe(202);
    const runId = started.json().id;
    const run = await waitFor(
      async () => {
        const r = (await inject("GET", `/benchmarks/${runId}`)).json();
        return r.status === "queued" || r.status === "running" ? undefined : r;
      },
      { what: `benchmark ${runId} to finish`, timeoutMs: 60_000, intervalMs: 250 },
    );
    expect(run.status).toBe("complete");

    // Its results are in PostgreSQL, exact token counts included.
    const client = new pg.Client({ connectionString: ADMIN_URL.replace(/\/[^/]*$/, `/${database}`) });
    await client.connect();
    try {
      const rows = await client.query("SELECT workload, runtime, metrics FROM results WHERE run_id = $1", [
        runId,
      ]);
      expect(rows.rows).toHaveLength(1);
      expect(rows.rows[0].metrics.counts.ok).toBe(8);
      expect(rows.rows[0].metrics.tokenMismatch.promptVsPlanned).toBe(0);
      const runs = await client.query("SELECT status, model FROM runs WHERE id = $1", [runId]);
      expect(runs.rows[0]).toEqual({ status: "complete", model: "synthetic:tiny" });
      const indexed = await client.query(
        "SELECT name, uri, uploaded FROM artifacts WHERE run_id = $1 ORDER BY name",
        [runId],
      );
      const names = indexed.rows.map((r) => r.name);
      expect(names).toEqual(expect.arrayContaining(["report.html", "requests.jsonl.gz", "result.json"]));
      for (const r of indexed.rows) {
        expect(r.uploaded).toBe(true);
        expect(r.uri).toBe(`s3://runs/${runId}/${r.name}`);
      }
    } finally {
      await client.end();
    }
    // And its artifacts are in S3.
    const stored = await s3.storedObject("runs", `${runId}/result.json`);
    expect(JSON.parse(stored!.toString()).results[0].workload).toBe("e2e");

    expect((await inject("DELETE", `/deployments/${id}`)).statusCode).toBe(200);
    expect((await inject("DELETE", `/deployments/${id}`)).statusCode).toBe(404);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
  }, 240_000);
});
