/**
 * The worker's API key (`--api-key`, TOKENFORGE_WORKER_API_KEY): its routes but /health and
 * /metrics need the key; and a worker the gateway started (a real llama.cpp worker process on
 * synthetic:tiny, through the local backend) refuses a caller that goes around the gateway, while
 * the gateway, which holds the key, serves through it, and a benchmark run reaches it too.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { llamaCppRuntime } from "../../src/runtimes/llamacpp/index.js";
import { buildWorkerApp } from "../../src/worker/app.js";
import { EngineHolder } from "../../src/worker/engine-holder.js";
import { SELF, startTestGateway, type TestGateway } from "../helpers/gateway.js";
import { waitFor } from "../helpers/wait-for.js";
import { TEST_CACHE_DIR } from "../helpers/worker.js";

describe("worker --api-key", () => {
  const key = "worker-secret-0123456789abcdef";
  const { app } = buildWorkerApp({ holder: new EngineHolder(), apiKey: key });
  afterAll(async () => app.close());

  it("needs the key on every route but /health and /metrics, before reading the body", async () => {
    for (const [method, url] of [
      ["GET", "/v1/models"],
      ["POST", "/v1/completions"],
      ["POST", "/v1/chat/completions"],
      ["POST", "/tokenize"],
      ["GET", "/nowhere"],
    ] as const) {
      const none = await app.inject({ method, url, payload: method === "POST" ? "{not json" : undefined });
      expect(none.statusCode, url).toBe(401);
      expect(none.json().error).toMatchObject({ type: "authentication_error", code: "unauthorized" });
      const wrong = await app.inject({ method, url, headers: { authorization: "Bearer nope" } });
      expect(wrong.statusCode, url).toBe(401);
      expect(wrong.body).not.toContain("nope");
    }
    const good = await app.inject({ url: "/v1/models", headers: { authorization: `Bearer ${key}` } });
    expect(good.statusCode).not.toBe(401);
    expect((await app.inject({ url: "/health" })).statusCode).not.toBe(401);
    expect((await app.inject({ url: "/metrics" })).statusCode).toBe(200);
  });

  it("asks for nothing when no key is set", async () => {
    const open = buildWorkerApp({ holder: new EngineHolder() }).app;
    expect((await open.inject({ url: "/v1/models" })).statusCode).not.toBe(401);
    await open.close();
  });
});

describe("a worker the gateway started", () => {
  const workerKey = "gateway-worker-key-0123456789abcdef";
  let t: TestGateway;

  beforeAll(async () => {
    t = await startTestGateway({
      name: "worker-key",
      runtimes: [llamaCppRuntime(SELF)],
      env: { TOKENFORGE_MODEL_CACHE: TEST_CACHE_DIR, TOKENFORGE_WORKER_API_KEY: workerKey },
      workerApiKey: workerKey,
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("refuses a caller that goes around the gateway, and serves through it", async () => {
    const deployed = await t.gateway.app.inject({
      method: "POST",
      url: "/deploy",
      payload: { model: "synthetic:tiny", runtime: "llamacpp" },
    });
    expect(deployed.statusCode).toBe(202);
    const id = deployed.json().id as string;
    const ready = await waitFor(
      async () => {
        const d = (await t.gateway.app.inject({ url: `/deployments/${id}` })).json();
        return d.status === "ready" ? d : undefined;
      },
      { what: "the llama.cpp deployment to be ready", timeoutMs: 120_000, intervalMs: 200 },
    );
    const endpoint = ready.endpoints[0] as string;
    const body = JSON.stringify({ model: "synthetic:tiny", prompt: "hi", max_tokens: 2 });
    const around = await fetch(`${endpoint}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    expect(around.status).toBe(401);
    expect((await fetch(`${endpoint}/tokenize`, { method: "POST", body: "{}" })).status).toBe(401);
    expect((await fetch(`${endpoint}/health`)).status).toBe(200);
    const through = await t.gateway.app.inject({
      method: "POST",
      url: "/v1/completions",
      payload: { model: "synthetic:tiny", prompt: "hi", max_tokens: 2 },
    });
    expect(through.statusCode).toBe(200);
    expect(through.json().usage.completion_tokens).toBe(2);
    // The key never reaches the caller.
    expect(through.body).not.toContain(workerKey);

    const started = await t.gateway.app.inject({
      method: "POST",
      url: "/benchmarks/run",
      payload: {
        model: "synthetic:tiny",
        runtimes: ["llamacpp"],
        workloads: [{ name: "w", qps: 5, num_requests: 2, prompt_len: 8, gen_tokens: 2 }],
      },
    });
    expect(started.statusCode).toBe(202);
    const runId = started.json().id as string;
    const ended = await waitFor(
      async () => {
        const r = (await t.gateway.app.inject({ url: `/benchmarks/${runId}` })).json();
        return r.status !== "queued" && r.status !== "running" ? r : undefined;
      },
      { what: "the run to end", timeoutMs: 120_000, intervalMs: 200 },
    );
    expect(ended.status, JSON.stringify(ended.error)).toBe("complete");
    const result = await t.gateway.app.inject({ url: `/benchmarks/${runId}/artifacts/result.json` });
    expect(result.body).not.toContain(workerKey);
  });
});
