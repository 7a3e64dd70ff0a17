/**
 * A PostgreSQL outage, simulated with a TCP proxy between the store and the real server (the
 * server itself is never touched): while the proxy refuses connections, drops them under a query
 * or accepts them without answering, store calls fail with `unavailable` and the gateway answers
 * 503 with Retry-After in the API's error shape; once the proxy forwards again, the same calls
 * succeed without a restart. Each run works in a schema of its own, dropped afterwards. Where
 * PostgreSQL cannot be reached the suite is skipped with the reason printed, except under CI.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isTokenForgeError } from "../../src/errors.js";
import { buildGateway, type Gateway } from "../../src/gateway/app.js";
import { Deployments } from "../../src/gateway/deployments.js";
import { parseAllowTargets } from "../../src/gateway/targets-allow.js";
import { RuntimeRegistry } from "../../src/runtimes/registry.js";
import type { Store } from "../../src/spec/store.js";
import { FsArtifactStore } from "../../src/store/artifacts/index.js";
import type { Db } from "../../src/store/db/db.js";
import { openStore } from "../../src/store/db/open.js";
import { openPostgres } from "../../src/store/db/postgres.js";
import { toStoreError } from "../../src/store/db/sql-errors.js";
import { startSimChild } from "../helpers/sim.js";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.js";
import { waitFor } from "../helpers/wait-for.js";

const PG_URL = process.env.TOKENFORGE_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const target = new URL(PG_URL);
const schema = `tf_outage_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;

async function admin(sql: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query(sql);
    return undefined;
  } catch (err) {
    return (err as Error).message || String(err);
  } finally {
    await client.end().catch(() => {});
  }
}

const problem = await admin(`CREATE SCHEMA ${schema}`);
if (problem !== undefined) {
  if (process.env.CI) throw new Error(`PostgreSQL at ${target.host} is required under CI: ${problem}`);
  console.warn(`skipping the PostgreSQL outage tests: cannot reach ${target.host} (${problem})`);
}

/** The test database's URL through the proxy, with this run's schema first on the search path. */
function throughProxy(port: number): string {
  const u = new URL(PG_URL);
  u.port = String(port);
  u.searchParams.set("options", `-c search_path=${schema}`);
  return u.toString();
}

let dir: string;
let proxy: TcpProxy;
let store: Store;
let gateway: Gateway;

beforeAll(async () => {
  if (problem !== undefined) return;
  dir = mkdtempSync(join(tmpdir(), "tokenforge-outage-"));
  proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
  store = await openStore({ databaseUrl: throughProxy(proxy.port), dataDir: "unused" });
  const runtimes = new RuntimeRegistry([]);
  gateway = await buildGateway({
    store,
    deployments: new Deployments(store, {}, runtimes),
    runtimes,
    artifacts: new FsArtifactStore(join(dir, "artifacts")),
    resultsDir: join(dir, "results"),
    // The run below attaches to a sim child on loopback, which the allow-list must name.
    allowTargets: parseAllowTargets("127.0.0.1"),
  });
}, 60_000);

afterAll(async () => {
  if (problem !== undefined) return;
  await gateway?.app.close();
  await gateway?.close();
  await proxy?.restore();
  await store?.close();
  await proxy?.close();
  await admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The coded error a promise rejects with. */
async function rejection(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    const coded = isTokenForgeError(err) ? err : toStoreError(err, { what: "the query" });
    return { code: coded.code, message: coded.message };
  }
  throw new Error("expected a rejection");
}

const get = (url: string) => gateway.app.inject({ method: "GET", url });

describe.skipIf(problem !== undefined)("a database outage", () => {
  it("answers 503 with Retry-After while PostgreSQL is unreachable, and 200 once it is back", async () => {
    expect((await get("/deployments")).statusCode).toBe(200);
    expect((await get("/benchmarks")).statusCode).toBe(200);
    const before = proxy.forwarded();

    await proxy.cut();
    for (const url of ["/deployments", "/benchmarks"]) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(503);
      expect(Number(res.headers["retry-after"]), url).toBeGreaterThan(0);
      const body = res.json() as { error: Record<string, unknown> };
      expect(Object.keys(body)).toEqual(["error"]);
      expect(body.error.code).toBe("unavailable");
      expect(body.error.message).toContain("the database is unavailable");
      expect(body.error.message).not.toContain("postgres://");
    }

    await proxy.restore();
    const list = await get("/deployments");
    expect(list.statusCode).toBe(200);
    expect(list.json()).toEqual([]);
    expect((await get("/benchmarks")).statusCode).toBe(200);
    // The pool opened new connections through the proxy: it reconnected, nothing was restarted.
    expect(proxy.forwarded()).toBeGreaterThan(before);
  });

  it("keeps a constraint violation a 4xx and a broken statement a 500 while the database is up", async () => {
    const run = {
      id: "outage-run",
      status: "queued" as const,
      model: "m",
      runtimes: ["sim"],
      config: {},
      seed: 1,
      environment: {},
      createdAt: new Date().toISOString(),
    };
    await store.createRun(run);
    expect(await rejection(store.createRun(run))).toMatchObject({ code: "conflict" });
    const db = await openPostgres(throughProxy(proxy.port), { max: 1 });
    try {
      expect(await rejection(db.query("SELECT * FROM no_such_table"))).toMatchObject({ code: "io_error" });
    } finally {
      await db.close();
    }
  });
});

describe.skipIf(problem !== undefined)("store errors during an outage", () => {
  let db: Db;

  beforeAll(async () => {
    db = await openPostgres(throughProxy(proxy.port), { max: 1, connectTimeoutMs: 500 });
  });

  afterAll(async () => {
    await proxy.restore();
    await db?.close();
  });

  it("maps a connection dropped under a running query to unavailable", async () => {
    const marker = `outage-${schema}`;
    const failed = rejection(db.query(`SELECT pg_sleep(30) /* ${marker} */`));
    // The statement is running once the server lists it (seen directly, not through the proxy).
    const monitor = new pg.Client({ connectionString: PG_URL });
    await monitor.connect();
    try {
      const running = () =>
        monitor.query(
          "SELECT pid FROM pg_stat_activity WHERE state = 'active' AND query LIKE $1 AND pid <> pg_backend_pid()",
          [`%${marker}%`],
        );
      await waitFor(async () => (await running()).rows.length > 0, { what: "the slow statement to run" });
      await proxy.cut();
      const err = await failed;
      expect(err.code).toBe("unavailable");
      expect(err.message).toMatch(/Connection terminated/i);
      // The server would sleep on for a client that is gone: end that backend now.
      for (const { pid } of (await running()).rows as { pid: number }[])
        await monitor.query("SELECT pg_terminate_backend($1)", [pid]);
    } finally {
      await monitor.end();
    }
    await proxy.restore();
    expect((await db.query<{ one: number }>("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
  });

  it("maps a server that accepts but never answers to unavailable once the connect times out", async () => {
    await proxy.stall();
    // A pooled connection the proxy just dropped may fail first ("terminated"); the next attempt
    // has to connect anew and waits out the 500 ms connect timeout.
    const errors: { code: string; message: string }[] = [];
    await waitFor(
      async () => {
        const err = await rejection(db.query("SELECT 1"));
        errors.push(err);
        return /timeout/i.test(err.message);
      },
      { what: "a connect to time out", detail: () => JSON.stringify(errors) },
    );
    expect(errors.map((e) => e.code)).toEqual(errors.map(() => "unavailable"));
    await proxy.restore();
    expect((await db.query<{ one: number }>("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
  });

  it("records a run that ends during the outage whole once the database is back", async () => {
    const sim = await startSimChild({ model: "outage-model" });
    try {
      const started = await gateway.app.inject({
        method: "POST",
        url: "/benchmarks/run",
        payload: {
          model: "outage-model",
          runtimes: ["sim"],
          targets: { sim: sim.url },
          workloads: [{ name: "w", qps: 20, num_requests: 30, prompt_len: 8, gen_tokens: 4 }],
        },
      });
      expect(started.statusCode).toBe(202);
      const id = (started.json() as { id: string }).id;
      await waitFor(async () => (await get(`/benchmarks/${id}`)).json().status === "running", {
        what: `run ${id} to start`,
      });
      await proxy.cut();
      // The harness finishes on its own; its result is on disk while the store cannot be reached.
      await waitFor(() => existsSync(join(dir, "results", id, "result.json")), {
        what: `run ${id} to write its result`,
        timeoutMs: 60_000,
      });
      expect((await get(`/benchmarks/${id}`)).statusCode).toBe(503);
      await proxy.restore();
      let last = "";
      const run = await waitFor(
        async () => {
          const r = (await get(`/benchmarks/${id}`)).json();
          last = JSON.stringify({
            status: r.status,
            results: r.results?.length,
            artifacts: r.artifacts?.length,
          });
          return r.status === "complete" && r.artifacts.length >= 3 ? r : undefined;
        },
        { what: `run ${id} recorded after the outage`, timeoutMs: 60_000, detail: () => last },
      );
      expect(run.results).toHaveLength(1);
      expect(run.results[0].metrics.counts.ok).toBe(30);
      expect(run.artifacts.map((a: { name: string }) => a.name)).toEqual(
        expect.arrayContaining(["result.json", "requests.jsonl.gz", "report.html"]),
      );
    } finally {
      await proxy.restore();
      await sim.stop();
    }
  }, 120_000);
});
