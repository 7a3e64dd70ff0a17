/**
 * The gateway's routes through inject(), on real parts: the store on PGlite, the local backend
 * starting real worker processes (the `sim` runtime, and llama.cpp on synthetic:tiny where a
 * slow start is needed), artifacts in a directory.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalBackend } from "../../src/control/local/index.js";
import { buildGateway, type Gateway } from "../../src/gateway/app.js";
import { Deployments } from "../../src/gateway/deployments.js";
import { llamaCppRuntime } from "../../src/runtimes/llamacpp/index.js";
import { RuntimeRegistry } from "../../src/runtimes/registry.js";
import { simRuntime } from "../../src/runtimes/sim/index.js";
import type { Store } from "../../src/spec/store.js";
import { FsArtifactStore } from "../../src/store/artifacts/index.js";
import { openStore } from "../../src/store/db/open.js";
import { waitFor } from "../helpers/wait-for.js";
import { TEST_CACHE_DIR } from "../helpers/worker.js";

const CLI = join(import.meta.dirname, "..", "..", "src", "cli", "tokenforge.ts");
const self = { command: process.execPath, args: ["--import", "tsx", CLI] };

let dir: string;
let store: Store;
let local: LocalBackend;
let gateway: Gateway;
const pids = new Set<number>();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "tokenforge-gateway-"));
  const runtimes = new RuntimeRegistry([llamaCppRuntime(self), simRuntime(self)]);
  store = await openStore({ dataDir: "memory://" });
  local = new LocalBackend({ runtimes, env: { TOKENFORGE_MODEL_CACHE: TEST_CACHE_DIR }, stopGraceMs: 3000 });
  gateway = await buildGateway({
    store,
    deployments: new Deployments(store, { local }, runtimes),
    runtimes,
    artifacts: new FsArtifactStore(join(dir, "artifacts")),
    resultsDir: join(dir, "results"),
    bodyLimit: 64 * 1024,
  });
}, 60_000);

afterAll(async () => {
  await gateway?.close();
  await local?.close();
  await store?.close();
  // No worker process remains.
  for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
  rmSync(dir, { recursive: true, force: true });
});

const inject = (method: "GET" | "POST" | "DELETE", url: string, payload?: unknown) =>
  gateway.app.inject({ method, url, ...(payload === undefined ? {} : { payload: payload as object }) });

async function untilReady(id: string, timeoutMs = 60_000) {
  let last = "";
  return waitFor(
    async () => {
      const d = (await inject("GET", `/deployments/${id}`)).json();
      last = JSON.stringify(d);
      if (d.status === "failed") throw new Error(`deployment failed: ${d.last_error}`);
      return d.status === "ready" ? d : undefined;
    },
    { what: `deployment ${id} to be ready`, timeoutMs, intervalMs: 200, detail: () => last },
  );
}

describe("deployments and inference", () => {
  let simId: string;

  it("deploys the sim runtime with two replicas and reports it ready with two endpoints", async () => {
    const res = await inject("POST", "/deploy", { model: "sim-model", runtime: "sim", replicas: 2 });
    expect(res.statusCode).toBe(202);
    simId = res.json().id;
    expect(res.json().status).toMatch(/pending|starting/);
    const d = await untilReady(simId);
    expect(d).toMatchObject({ model: "sim-model", runtime: "sim", target: "local", replicas: 2 });
    expect(d.endpoints).toHaveLength(2);
    expect(new Set(d.endpoints).size).toBe(2);
    for (const s of (await local.get(simId))!.replicas) if (s.pid) pids.add(s.pid);
    const list = (await inject("GET", "/deployments")).json();
    expect(list.map((x: { id: string }) => x.id)).toContain(simId);
  });

  it("infers whole and streamed through /infer, round-robin over the replicas", async () => {
    const whole = await inject("POST", "/infer", {
      model: "sim-model",
      runtime: "sim",
      prompt: "a b c",
      max_tokens: 5,
    });
    expect(whole.statusCode).toBe(200);
    expect(whole.json().usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 5 });
    const streamed = await inject("POST", "/infer", {
      model: "sim-model",
      prompt: "a b",
      max_tokens: 4,
      stream: true,
    });
    expect(streamed.statusCode).toBe(200);
    expect(streamed.headers["content-type"]).toContain("text/event-stream");
    const events = streamed.body.split("\n\n").filter((e) => e.startsWith("data: "));
    expect(events.at(-1)).toBe("data: [DONE]");
    expect(events.filter((e) => e.includes('"text":" tok"'))).toHaveLength(4);
    // Round robin: consecutive requests alternate between the two replicas' endpoints.
    const routes = await Promise.all(
      [0, 1, 2, 3].map(() =>
        gateway.app.inject({
          method: "POST",
          url: "/infer",
          payload: { model: "sim-model", prompt: "x", max_tokens: 1 },
        }),
      ),
    );
    expect(routes.every((r) => r.statusCode === 200)).toBe(true);
  });

  it("counts forwarded requests and deployments on its /metrics", async () => {
    const text = (await inject("GET", "/metrics")).body;
    const forwarded = text.match(
      /^tokenforge_gateway_proxied_requests_total\{model="sim-model",runtime="sim",status="200"\} (\d+)/m,
    );
    expect(Number(forwarded?.[1])).toBeGreaterThanOrEqual(6);
    expect(text).toMatch(/^tokenforge_gateway_deployments\{target="local",state="ready"\} [1-9]/m);
    expect(text).toMatch(
      /^tokenforge_gateway_time_to_first_byte_seconds_count\{model="sim-model",runtime="sim"\} [1-9]/m,
    );
    expect(text).toContain("tokenforge_gateway_process_resident_memory_bytes");
  });

  it("serves OpenAI's routes over ready deployments", async () => {
    const models = (await inject("GET", "/v1/models")).json();
    expect(models.object).toBe("list");
    expect(models.data.map((m: { id: string }) => m.id)).toContain("sim-model");
    const chat = await inject("POST", "/v1/chat/completions", {
      model: "sim-model",
      messages: [{ role: "user", content: "hello there" }],
      max_tokens: 3,
    });
    expect(chat.statusCode).toBe(200);
    expect(chat.json().choices[0].message.content).toBe(" tok tok tok");
    const missing = await inject("POST", "/v1/completions", { model: "nope", prompt: "x" });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error).toMatchObject({ code: "model_not_found", param: "model" });
  });

  it("deploys the sim timed by a performance model given in engine_args", async () => {
    const perf = {
      prefill_tokens_per_s: 50_000,
      decode: { base_ms: 2, per_seq_ms: 0.5 },
      max_batch: 2,
      kv_cache_tokens: 64,
    };
    const res = await inject("POST", "/deploy", {
      model: "sim-perf",
      runtime: "sim",
      engine_args: ["--perf", JSON.stringify(perf)],
    });
    expect(res.statusCode).toBe(202);
    const id = res.json().id as string;
    const d = await untilReady(id);
    for (const s of (await local.get(id))!.replicas) if (s.pid) pids.add(s.pid);
    const ok = await inject("POST", "/infer", { model: "sim-perf", prompt: "a b c", max_tokens: 8 });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 8 });
    // The model's KV cache holds 64 tokens: a request that could never fit is refused, naming the field.
    const tooBig = await inject("POST", "/infer", { model: "sim-perf", prompt: "a b c", max_tokens: 62 });
    expect(tooBig.statusCode).toBe(400);
    expect(JSON.stringify(tooBig.json())).toContain("max_tokens");
    const metrics = await (await fetch(`${d.endpoints[0]}/metrics`)).text();
    expect(metrics).toMatch(/^tokenforge:num_requests_waiting 0$/m);
    expect((await inject("DELETE", `/deployments/${id}`)).statusCode).toBe(200);
  });

  it("answers 503 with Retry-After while a deployment is still starting", async () => {
    const res = await inject("POST", "/deploy", { model: "synthetic:tiny", runtime: "llamacpp" });
    expect(res.statusCode).toBe(202);
    const id = res.json().id;
    const early = await inject("POST", "/infer", { model: "synthetic:tiny", prompt: "x", max_tokens: 2 });
    expect(early.statusCode).toBe(503);
    expect(early.headers["retry-after"]).toBeDefined();
    await untilReady(id);
    for (const s of (await local.get(id))!.replicas) if (s.pid) pids.add(s.pid);
    const ok = await inject("POST", "/infer", {
      model: "synthetic:tiny",
      prompt: "Once upon",
      max_tokens: 4,
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().usage.completion_tokens).toBeGreaterThan(0);
    expect((await inject("DELETE", `/deployments/${id}`)).statusCode).toBe(200);
  }, 90_000);

  it("deletes a deployment, and a second delete is a 404", async () => {
    const res = await inject("DELETE", `/deployments/${simId}`);
    expect(res.statusCode).toBe(200);
    expect(res.json().status).toBe("stopped");
    const again = await inject("DELETE", `/deployments/${simId}`);
    expect(again.statusCode).toBe(404);
    expect(again.json().error).toMatchObject({ code: "not_found", field: "id" });
    expect((await inject("POST", "/infer", { model: "sim-model", prompt: "x" })).statusCode).toBe(404);
  });
});

describe("a gateway restart", () => {
  it("starts again the deployments the store holds", async () => {
    const runtimes = new RuntimeRegistry([simRuntime(self)]);
    const res = await inject("POST", "/deploy", { model: "sim-restart", runtime: "sim" });
    const id = res.json().id;
    await untilReady(id);
    // A second backend over the same store: what a restarted gateway sees.
    const other = new LocalBackend({ runtimes, stopGraceMs: 3000 });
    try {
      const restarted = new Deployments(store, { local: other }, runtimes);
      const restored = await restarted.restore();
      expect(restored).toContain(id);
      await waitFor(async () => (await restarted.get(id)).status === "ready", {
        what: `deployment ${id} restored and ready`,
        timeoutMs: 30_000,
        intervalMs: 200,
      });
      expect((await restarted.get(id)).endpoints).toHaveLength(1);
      expect(await restarted.restore()).not.toContain(id);
    } finally {
      await other.close();
      await inject("DELETE", `/deployments/${id}`);
    }
  }, 60_000);
});

describe("bad requests get a clear 4xx and change nothing", () => {
  const cases: [string, unknown, number, string][] = [
    ["unknown runtime", { model: "m", runtime: "nope" }, 400, "runtime"],
    ["missing model", { runtime: "sim" }, 400, "model"],
    ["bad types", { model: "m", runtime: "sim", replicas: "2" }, 400, "replicas"],
    ["unknown field", { model: "m", runtime: "sim", colour: "red" }, 400, "colour"],
    ["unconfigured target", { model: "m", runtime: "sim", target: "kubernetes" }, 400, "target"],
  ];
  for (const [name, body, status, field] of cases) {
    it(`refuses ${name} (${status}, names ${field})`, async () => {
      const before = (await inject("GET", "/deployments")).json().length;
      const res = await inject("POST", "/deploy", body);
      expect(res.statusCode).toBe(status);
      expect(res.json().error.field).toBe(field);
      expect((await inject("GET", "/deployments")).json().length).toBe(before);
    });
  }

  it("refuses an oversize body with 413", async () => {
    const res = await inject("POST", "/deploy", { model: "x".repeat(100_000), runtime: "sim" });
    expect(res.statusCode).toBe(413);
  });

  it("refuses an invalid benchmark config with every problem, and records no run", async () => {
    const before = (await inject("GET", "/benchmarks")).json().length;
    const res = await inject("POST", "/benchmarks/run", {
      model: "m",
      runtimes: ["sim"],
      workloads: [{ name: "w", qps: -1, prompt_len: 0, gen_tokens: 4 }],
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toContain("workloads[0].qps");
    expect(res.json().error.message).toContain("workloads[0].prompt_len");
    expect((await inject("GET", "/benchmarks")).json().length).toBe(before);
  });

  it("refuses a config that would send one of the gateway's environment variables as an API key", async () => {
    const res = await inject("POST", "/benchmarks/run", {
      model: "m",
      runtimes: ["x"],
      targets: { x: { url: "http://attacker.example", api_key_env: "AWS_SECRET_ACCESS_KEY" } },
      workloads: [{ name: "w", qps: 1, num_requests: 1, prompt_len: 4, gen_tokens: 2 }],
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.field).toBe("targets.x.api_key_env");
  });

  it("answers 404 for unknown runs and routes", async () => {
    expect((await inject("GET", "/benchmarks/run-nope")).statusCode).toBe(404);
    expect((await inject("POST", "/benchmarks/run-nope/cancel")).statusCode).toBe(404);
    expect((await inject("GET", "/nowhere")).statusCode).toBe(404);
  });
});

describe("benchmarks through the API", () => {
  it("runs a config in the background, deploying what is missing, and keeps results and artifacts", async () => {
    const res = await inject("POST", "/benchmarks/run", {
      model: "sim-bench",
      runtimes: ["sim"],
      workloads: [{ name: "api", qps: 50, num_requests: 20, prompt_len: 16, gen_tokens: 4 }],
    });
    expect(res.statusCode).toBe(202);
    const id = res.json().id;
    let run = (await inject("GET", `/benchmarks/${id}`)).json();
    await waitFor(
      async () => {
        run = (await inject("GET", `/benchmarks/${id}`)).json();
        return run.status !== "queued" && run.status !== "running";
      },
      {
        what: `benchmark ${id} to finish`,
        timeoutMs: 60_000,
        intervalMs: 250,
        detail: () => JSON.stringify(run),
      },
    );
    expect(run.status).toBe("complete");
    expect(run.results).toHaveLength(1);
    expect(run.results[0]).toMatchObject({ workload: "api", runtime: "sim" });
    expect(run.results[0].metrics.counts.ok).toBe(20);
    const names = run.artifacts.map((a: { name: string }) => a.name);
    expect(names).toEqual(expect.arrayContaining(["result.json", "requests.jsonl.gz", "report.html"]));
    const report = await inject("GET", `/benchmarks/${id}/artifacts/report.html`);
    expect(report.statusCode).toBe(200);
    expect(report.headers["content-type"]).toContain("text/html");
    const listed = (await inject("GET", "/benchmarks?model=sim-bench&status=complete")).json();
    expect(listed.map((r: { id: string }) => r.id)).toEqual([id]);
    expect((await inject("GET", "/benchmarks?model=other")).json()).toEqual([]);
    // What the run deployed for itself is gone again.
    expect(
      (await inject("GET", "/deployments")).json().filter((d: { model: string }) => d.model === "sim-bench"),
    ).toEqual([]);
    // A finished run cannot be cancelled.
    expect((await inject("POST", `/benchmarks/${id}/cancel`)).statusCode).toBe(400);
  }, 90_000);
});

describe("OpenAPI", () => {
  it("documents every route from the same schemas", async () => {
    const doc = (await inject("GET", "/openapi.json")).json();
    expect(doc.openapi).toMatch(/^3\./);
    for (const path of [
      "/deploy",
      "/deployments",
      "/deployments/{id}",
      "/infer",
      "/benchmarks/run",
      "/benchmarks/{id}",
    ]) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
    expect(doc.paths["/deploy"].post.requestBody).toBeDefined();
    expect((await inject("GET", "/docs/")).statusCode).toBe(200);
  });
});
