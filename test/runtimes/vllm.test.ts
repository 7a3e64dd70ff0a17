/**
 * The vLLM runtime's launch arguments (quant mapping, tensor parallel, engine-arg allow-list) and
 * the harness's sampling of a server's /metrics — parsed from vLLM-shaped exposition text of both
 * name generations, and recorded in a benchmark run against a STAND-IN for vLLM
 * (test/helpers/vllm-standin.ts; vLLM itself cannot run here).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { workloadOf } from "../../src/bench/config.js";
import { parsePrometheusText } from "../../src/bench/prom-text.js";
import { runBenchmark } from "../../src/bench/run.js";
import {
  extractServerSeries,
  startServerMetricsSampler,
  summarizeScrapes,
} from "../../src/bench/server-metrics.js";
import { isTokenForgeError, type TokenForgeError } from "../../src/errors.js";
import { RuntimeRegistry } from "../../src/runtimes/registry.js";
import { VLLM_IMAGE, vllmArgs, vllmQuantFlags } from "../../src/runtimes/vllm/args.js";
import { vllmRuntime } from "../../src/runtimes/vllm/index.js";
import { startVllmStandIn, type VllmStandIn } from "../helpers/vllm-standin.js";

const MODEL = "facebook/opt-125m";

function tfError(fn: () => unknown): TokenForgeError {
  try {
    fn();
  } catch (err) {
    if (isTokenForgeError(err)) return err;
    throw err;
  }
  throw new Error("expected a TokenForgeError");
}

describe("vllm launch arguments", () => {
  it("serves the model with `vllm serve MODEL --host H --port P` and allowed engine args", () => {
    const rt = vllmRuntime();
    expect(rt.name).toBe("vllm");
    expect(rt.createEngine).toBeUndefined();
    const p = rt.localProcess({
      model: MODEL,
      host: "127.0.0.1",
      port: 8123,
      extraArgs: ["--load-format", "dummy", "--enforce-eager", "--kv-cache-dtype=fp8"],
    });
    expect(p.command).toBe("vllm");
    expect(p.args).toEqual([
      "serve",
      MODEL,
      "--host",
      "127.0.0.1",
      "--port",
      "8123",
      "--load-format",
      "dummy",
      "--enforce-eager",
      "--kv-cache-dtype=fp8",
    ]);
    expect(
      vllmRuntime({ command: "/opt/venv/bin/vllm" }).localProcess({
        model: MODEL,
        host: "h",
        port: 1,
        extraArgs: [],
      }).command,
    ).toBe("/opt/venv/bin/vllm");
    expect(VLLM_IMAGE).toMatch(/^vllm\/vllm-openai:v\d/);
  });

  it.each([
    ["fp16", ["--dtype", "float16"]],
    ["float16", ["--dtype", "float16"]],
    ["bf16", ["--dtype", "bfloat16"]],
    ["BFloat16", ["--dtype", "bfloat16"]],
    ["fp8", ["--quantization", "fp8"]],
    ["awq", ["--quantization", "awq"]],
    ["gptq", ["--quantization", "gptq"]],
    ["awq_marlin", ["--quantization", "awq_marlin"]],
    ["gptq_marlin", ["--quantization", "gptq_marlin"]],
    ["bitsandbytes", ["--quantization", "bitsandbytes", "--load-format", "bitsandbytes"]],
  ])("quant %s → %j", (quant, flags) => {
    expect(vllmQuantFlags(quant)).toEqual(flags);
    expect(vllmArgs({ model: MODEL, quant, engineArgs: [] })).toEqual(["serve", MODEL, ...flags]);
  });

  it.each(["q4_0", "q8_0", "f32x", "int4"])(
    "refuses quant %s naming the field and the accepted values",
    (quant) => {
      const err = tfError(() => vllmArgs({ model: MODEL, quant, engineArgs: [] }));
      expect(err.code).toBe("invalid_request");
      expect(err.field).toBe("quant");
      expect(err.message).toContain("awq");
      expect(err.message).toContain("bf16");
    },
  );

  it("maps gpus to tensor parallel and the sizing fields to their flags", () => {
    expect(
      vllmArgs({
        model: MODEL,
        quant: "bf16",
        gpus: 4,
        maxModelLen: 8192,
        gpuMemoryUtilization: 0.85,
        maxNumSeqs: 128,
        engineArgs: ["--enable-prefix-caching"],
      }),
    ).toEqual([
      "serve",
      MODEL,
      "--dtype",
      "bfloat16",
      "--tensor-parallel-size",
      "4",
      "--max-model-len",
      "8192",
      "--gpu-memory-utilization",
      "0.85",
      "--max-num-seqs",
      "128",
      "--enable-prefix-caching",
    ]);
    expect(vllmArgs({ model: MODEL, gpus: 1, engineArgs: [] })).toEqual(["serve", MODEL]);
    expect(tfError(() => vllmArgs({ model: MODEL, gpuMemoryUtilization: 1.5, engineArgs: [] })).field).toBe(
      "gpuMemoryUtilization",
    );
    expect(tfError(() => vllmArgs({ model: "synthetic:tiny", engineArgs: [] })).field).toBe("model");
  });

  it.each([
    [["--api-key", "x"], "--api-key"],
    [["--host", "0.0.0.0"], "--host"],
    [["--port=1"], "--port"],
    [["--served-model-name", "m"], "--served-model-name"],
    [["dummy"], "dummy"],
    [["--seed"], "--seed"],
    [["--enforce-eager=1"], "--enforce-eager"],
    [["--load-format", "--enforce-eager"], "--load-format"],
  ])("refuses engine args %j naming engine_args and %s", (engineArgs, flag) => {
    const err = tfError(() => vllmArgs({ model: MODEL, engineArgs }));
    expect(err.code).toBe("invalid_request");
    expect(err.field).toBe("engine_args");
    expect(err.message).toContain(flag);
    const viaLaunch = tfError(() =>
      vllmRuntime().localProcess({ model: MODEL, host: "h", port: 1, extraArgs: engineArgs }),
    );
    expect(viaLaunch.field).toBe("engine_args");
  });

  it("takes a sizing flag in engine args only when its field is unset", () => {
    expect(vllmArgs({ model: MODEL, engineArgs: ["--max-model-len", "4096", "-tp", "2"] })).toEqual([
      "serve",
      MODEL,
      "--max-model-len",
      "4096",
      "-tp",
      "2",
    ]);
    const err = tfError(() =>
      vllmArgs({ model: MODEL, maxModelLen: 2048, engineArgs: ["--max-model-len", "4096"] }),
    );
    expect(err.field).toBe("engine_args");
    expect(err.message).toContain("maxModelLen");
    expect(tfError(() => vllmArgs({ model: MODEL, quant: "fp8", engineArgs: ["--dtype=half"] })).field).toBe(
      "engine_args",
    );
  });
});

const CURRENT = `# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="${MODEL}"} 3.0
vllm:num_requests_running{engine="1",model_name="${MODEL}"} 2.0
# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="${MODEL}"} 7.0
vllm:num_requests_waiting{engine="1",model_name="${MODEL}"} 0.0
# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{engine="0",model_name="${MODEL}"} 0.5
vllm:kv_cache_usage_perc{engine="1",model_name="${MODEL}"} 0.25
# TYPE vllm:prefix_cache_queries_total counter
vllm:prefix_cache_queries_total{engine="0",model_name="${MODEL}"} 1000.0
# TYPE vllm:prefix_cache_queries_created gauge
vllm:prefix_cache_queries_created{engine="0",model_name="${MODEL}"} 1.7296e+09
# TYPE vllm:prefix_cache_hits_total counter
vllm:prefix_cache_hits_total{engine="0",model_name="${MODEL}"} 250.0
# TYPE vllm:request_prefill_time_seconds histogram
vllm:request_prefill_time_seconds_bucket{engine="0",le="0.3",model_name="${MODEL}"} 4.0
vllm:request_prefill_time_seconds_bucket{engine="0",le="+Inf",model_name="${MODEL}"} 5.0
vllm:request_prefill_time_seconds_count{engine="0",model_name="${MODEL}"} 5.0
vllm:request_prefill_time_seconds_sum{engine="0",model_name="${MODEL}"} 1.25
vllm:request_decode_time_seconds_count{engine="0",model_name="${MODEL}"} 5.0
vllm:request_decode_time_seconds_sum{engine="0",model_name="${MODEL}"} 10.0
`;

const LEGACY = `# HELP vllm:gpu_cache_usage_perc GPU KV-cache usage. 1 means 100 percent usage.
# TYPE vllm:gpu_cache_usage_perc gauge
vllm:gpu_cache_usage_perc{model_name="${MODEL}"} 0.125
vllm:num_requests_running{model_name="${MODEL}"} 1.0
vllm:num_requests_waiting{model_name="${MODEL}"} 0.0
vllm:gpu_prefix_cache_queries_total{model_name="${MODEL}"} 64.0 1712345678000
vllm:gpu_prefix_cache_hits_total{model_name="${MODEL}"} 32.0
`;

describe("server metrics", () => {
  /** vLLM's own series, as its runtime declares them. */
  const catalogue = new RuntimeRegistry([vllmRuntime()]).metricSeries();

  it("parses the exposition format tolerantly", () => {
    const s = parsePrometheusText(
      'a{x="q\\"uote",y="b\\\\s"} 1.5 1712345678\nb +Inf\nc{} NaN\n  \n# comment\nbroken{x="1" 3\nd 4e+02\n',
    );
    expect(s.map((x) => x.name)).toEqual(["a", "b", "c", "d"]);
    expect(s[0]!.labels).toEqual({ x: 'q"uote', y: "b\\s" });
    expect(s[0]!.value).toBe(1.5);
    expect(s[1]!.value).toBe(Number.POSITIVE_INFINITY);
    expect(s[3]!.value).toBe(400);
  });

  it("reads current vLLM names, summing gauges over engines and averaging KV usage", () => {
    const scrape = extractServerSeries(CURRENT, catalogue);
    expect(scrape.values).toMatchObject({
      running: 5,
      waiting: 7,
      kvCacheUsage: 0.375,
      prefixCacheQueries: 1000,
      prefixCacheHits: 250,
      prefillTimeSum: 1.25,
      prefillTimeCount: 5,
      decodeTimeSum: 10,
    });
    expect(scrape.found.kvCacheUsage).toBe("vllm:kv_cache_usage_perc");
    expect(scrape.found.prefixCacheHits).toBe("vllm:prefix_cache_hits_total");
  });

  it("reads the older names and says which generation it found", () => {
    const first = extractServerSeries(LEGACY, catalogue);
    expect(first.values).toMatchObject({
      kvCacheUsage: 0.125,
      running: 1,
      prefixCacheQueries: 64,
      prefixCacheHits: 32,
    });
    expect(first.found.kvCacheUsage).toBe("vllm:gpu_cache_usage_perc");
    const later = extractServerSeries(
      LEGACY.replace(
        'queries_total{model_name="facebook/opt-125m"} 64.0',
        'queries_total{model_name="x"} 164.0',
      ).replace('hits_total{model_name="facebook/opt-125m"} 32.0', 'hits_total{model_name="x"} 107.0'),
      catalogue,
    );
    const summary = summarizeScrapes(
      [first, later],
      { url: "u", intervalMs: 1000, failures: 0, durationMs: 1 },
      catalogue,
    );
    expect(summary.generation).toBe("vllm-legacy");
    expect(summary.prefixCacheHitRate).toBeCloseTo(0.75);
    expect(summary.series.prefixCacheHits).toMatchObject({
      kind: "counter",
      first: 32,
      last: 107,
      delta: 75,
    });
    expect(summary.series.kvCacheUsage).toMatchObject({ kind: "gauge", min: 0.125, max: 0.125 });
    expect(
      summarizeScrapes(
        [extractServerSeries(CURRENT, catalogue)],
        { url: "u", intervalMs: 1, failures: 0, durationMs: 1 },
        catalogue,
      ).generation,
    ).toBe("vllm");
  });

  it("samples a stand-in with the older names under load", async () => {
    const standIn = await startVllmStandIn({
      model: MODEL,
      legacyNames: true,
      ttftMs: 20,
      itlMs: 5,
      maxNumSeqs: 2,
    });
    try {
      const sampler = startServerMetricsSampler(standIn.url, { catalogue, intervalMs: 20 });
      const prompt = "shared words ".repeat(20);
      const send = () =>
        fetch(`${standIn.url}/v1/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model: MODEL, prompt, max_tokens: 10 }),
        }).then((r) => r.json());
      await Promise.all(Array.from({ length: 6 }, send));
      const s = await sampler.stop();
      expect(s.generation).toBe("vllm-legacy");
      expect(s.found.kvCacheUsage).toBe("vllm:gpu_cache_usage_perc");
      expect(s.series.running!.max).toBe(2);
      expect(s.series.waiting!.max).toBeGreaterThan(0);
      expect(s.prefixCacheHitRate).toBeGreaterThan(0.5);
    } finally {
      await standIn.close();
    }
  });
});

describe("a benchmark run against the vLLM stand-in", () => {
  let standIn: VllmStandIn;
  let bare: VllmStandIn;
  let dir: string;
  beforeAll(async () => {
    standIn = await startVllmStandIn({
      model: MODEL,
      ttftMs: 20,
      itlMs: 4,
      maxNumSeqs: 4,
      kvCapacityTokens: 1024,
    });
    bare = await startVllmStandIn({ model: MODEL, ttftMs: 1, itlMs: 1, metrics: false });
    dir = mkdtempSync(join(tmpdir(), "tokenforge-vllm-"));
  });
  afterAll(async () => {
    await standIn?.close();
    await bare?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const config = (url: string) => ({
    model: MODEL,
    runtimes: ["vllm"],
    targets: { vllm: url },
    workloads: [
      workloadOf({
        name: "prefix",
        concurrency: 8,
        numRequests: 32,
        promptLen: { kind: "fixed", value: 96 },
        genTokens: { kind: "fixed", value: 16 },
        prefix: { length: 64, ratio: 1 },
      }),
    ],
    seed: 1,
  });

  it("records the server's running, waiting, KV usage and prefix-cache hit rate", async () => {
    const result = await runBenchmark({
      config: config(standIn.url),
      runtimes: new RuntimeRegistry([vllmRuntime()]),
      outDir: join(dir, "with"),
      serverMetrics: { intervalMs: 50 },
    });
    expect(result.status).toBe("complete");
    const r = result.results[0]!;
    expect(r.runtime).toBe("vllm");
    expect(r.metrics.counts.ok).toBe(32);
    const s = r.serverMetrics!;
    expect(s).toBeDefined();
    expect(s.generation).toBe("vllm");
    expect(s.failures).toBe(0);
    expect(s.scrapes).toBeGreaterThan(3);
    expect(s.series.running!.max).toBe(4);
    expect(s.series.waiting!.max).toBeGreaterThan(0);
    expect(s.series.kvCacheUsage!.max).toBeGreaterThan(0);
    expect(s.series.kvCacheUsage!.max).toBeLessThanOrEqual(1);
    expect(s.series.prefixCacheQueries!.delta).toBeGreaterThan(0);
    expect(s.prefixCacheHitRate).toBeGreaterThan(0.3);
    expect(s.prefixCacheHitRate).toBeLessThan(1);
    expect(s.meanPrefillSeconds).toBeGreaterThan(0);
    expect(s.meanDecodeSeconds).toBeGreaterThan(0);
    expect(s.series.prefillTimeCount!.delta).toBe(32);
  });

  it("leaves serverMetrics absent for a target without /metrics, and the run succeeds", async () => {
    const result = await runBenchmark({
      config: config(bare.url),
      runtimes: new RuntimeRegistry([]),
      outDir: join(dir, "without"),
    });
    expect(result.status).toBe("complete");
    expect(result.results[0]!.metrics.counts.ok).toBe(32);
    expect(result.results[0]!.serverMetrics).toBeUndefined();
  });
});
