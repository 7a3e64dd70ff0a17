/** /health says 503 while the model loads and 200 with engine details after; /metrics has the series. */
import { afterAll, expect, it } from "vitest";
import { resolveModel } from "../../src/models/resolve.js";
import { llamaCppRuntime } from "../../src/runtimes/llamacpp/index.js";
import { type RunningWorker, startWorker } from "../../src/worker/server.js";
import { postJson, TEST_CACHE_DIR } from "../helpers/worker.js";

let worker: RunningWorker | undefined;
afterAll(async () => {
  await worker?.close();
});

it("answers 503 while loading, then 200 with the engine's details", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  worker = await startWorker({
    runtime: llamaCppRuntime({ command: process.execPath, args: [] }),
    resolveModel: async () => {
      await gate;
      return resolveModel("synthetic:tiny", { cacheDir: TEST_CACHE_DIR });
    },
    engine: { parallel: 3, contextLength: 512, threads: 1, batchSize: undefined, gpu: false },
    host: "127.0.0.1",
    port: 0,
  });
  const loading = await fetch(`${worker.url}/health`);
  expect(loading.status).toBe(503);
  expect(((await loading.json()) as { status: string }).status).toBe("loading");
  const early = await postJson(`${worker.url}/v1/completions`, { prompt: "x", max_tokens: 1 });
  expect(early.status).toBe(503);
  expect(early.headers.get("retry-after")).toBe("1");

  release();
  await worker.loaded;
  const ready = await fetch(`${worker.url}/health`);
  expect(ready.status).toBe(200);
  expect(await ready.json()).toMatchObject({
    status: "ready",
    runtime: "llamacpp",
    model: "synthetic:tiny",
    threads: 1,
    parallel: 3,
    device: "cpu",
    running: 0,
  });
});

it("exposes Prometheus series with vLLM's meanings", async () => {
  const w = worker!;
  const res = await postJson(`${w.url}/v1/completions`, {
    prompt: "Count me",
    max_tokens: 7,
    ignore_eos: true,
    stream: true,
  });
  await res.text();
  const text = await (await fetch(`${w.url}/metrics`)).text();
  expect(text).toMatch(/^tokenforge:generation_tokens_total\{model_name="synthetic:tiny"\} 7$/m);
  expect(text).toMatch(/^tokenforge:time_to_first_token_seconds_count\{model_name="synthetic:tiny"\} 1$/m);
  expect(text).toMatch(/^tokenforge:e2e_request_latency_seconds_count\{model_name="synthetic:tiny"\} 1$/m);
  // Gaps between token events: at most one fewer than the tokens.
  const itl = Number(text.match(/^tokenforge:inter_token_latency_seconds_count\{[^}]*\} (\d+)$/m)?.[1]);
  expect(itl).toBeGreaterThan(0);
  expect(itl).toBeLessThanOrEqual(6);
  expect(text).toMatch(/^tokenforge:num_requests_running\{model_name="synthetic:tiny"\} 0$/m);
  expect(text).toMatch(/^tokenforge:kv_cache_usage_perc\{model_name="synthetic:tiny"\} 0$/m);
  expect(text).toMatch(
    /^tokenforge_http_requests_total\{method="POST",route="\/v1\/completions",status="200"\} 1$/m,
  );
});
