/**
 * The vLLM `bench serve --save-result` view: key names, units (ms for metrics, seconds for the
 * per-request arrays), numpy's population std, and null for what was not measured.
 */
import { describe, expect, it } from "vitest";
import { aggregate } from "../../src/bench/aggregate.js";
import type { RequestTrace } from "../../src/bench/types.js";
import { toVllmBenchServe, vllmDate } from "../../src/bench/vllm-view.js";

function trace(
  t: Partial<RequestTrace> & Pick<RequestTrace, "index" | "scheduledMs" | "sendMs">,
): RequestTrace {
  return { warmup: false, chunkMs: [], outcome: "ok", promptTokens: 10, maxTokens: 4, ...t };
}

/** TTFTs 100, 198, 300 ms; ITLs 20, 20, 20, 60 ms; TPOTs 70/3, 100/3 ms; two failures. */
function fixture(): RequestTrace[] {
  return [
    trace({ index: -1, warmup: true, scheduledMs: -5000, sendMs: -5000, chunkMs: [-4000], endMs: -4000 }),
    trace({
      index: 0,
      scheduledMs: 0,
      sendMs: 0,
      chunkMs: [100, 120, 140, 160],
      endMs: 170,
      usage: { promptTokens: 10, completionTokens: 4 },
    }),
    trace({
      index: 1,
      scheduledMs: 500,
      sendMs: 502,
      chunkMs: [700, 760],
      endMs: 800,
      usage: { promptTokens: 12, completionTokens: 4 },
    }),
    trace({
      index: 2,
      scheduledMs: 1000,
      sendMs: 1000,
      chunkMs: [1300],
      endMs: 1300,
      usage: { promptTokens: 10, completionTokens: 1 },
    }),
    trace({
      index: 3,
      scheduledMs: 1500,
      sendMs: 1500,
      endMs: 1510,
      status: 500,
      outcome: "error",
      error: "boom",
    }),
    trace({ index: 4, scheduledMs: 1600, sendMs: 1600, endMs: 1605, status: 500, outcome: "incomplete" }),
  ];
}

const meta = {
  model: "synthetic:llama-3.1-8b",
  backend: "openai",
  date: "20250101-120000",
  burstiness: 1,
  numPrompts: 5,
};

describe("toVllmBenchServe", () => {
  it("writes vLLM's setup, totals and throughput keys", () => {
    const v = toVllmBenchServe(aggregate(fixture(), { slo: {} }), meta);
    expect(v).toMatchObject({
      date: "20250101-120000",
      backend: "openai",
      endpoint_type: "openai",
      label: null,
      model_id: "synthetic:llama-3.1-8b",
      tokenizer_id: "synthetic:llama-3.1-8b",
      num_prompts: 5,
      request_rate: "inf",
      burstiness: 1,
      max_concurrency: null,
      completed: 3,
      failed: 2,
      total_input_tokens: 32,
      total_output_tokens: 9,
      request_goodput: null,
      max_output_tokens_per_s: 8,
      max_concurrent_requests: 1,
    });
    expect(v.duration).toBeCloseTo(1.605, 12);
    expect(v.request_throughput).toBeCloseTo(3 / 1.605, 12);
    expect(v.output_throughput).toBeCloseTo(9 / 1.605, 12);
    expect(v.total_token_throughput).toBeCloseTo(41 / 1.605, 12);
    // No per-request arrays without traces (like vLLM without --save-detailed).
    expect(v).not.toHaveProperty("ttfts");
  });

  it("writes mean/median/std/p50/p90/p95/p99 in ms for ttft, tpot, itl and e2el", () => {
    const v = toVllmBenchServe(aggregate(fixture(), { slo: {} }), meta) as Record<string, number>;
    for (const metric of ["ttft", "tpot", "itl", "e2el"]) {
      for (const stat of ["mean", "median", "std", "p50", "p90", "p95", "p99"]) {
        expect(typeof v[`${stat}_${metric}_ms`], `${stat}_${metric}_ms`).toBe("number");
      }
    }
    expect(v.mean_ttft_ms).toBeCloseTo(598 / 3, 10);
    expect(v.median_ttft_ms).toBe(198);
    expect(v.p99_ttft_ms).toBeCloseTo(198 + 0.98 * 102, 10);
    // np.std([100, 198, 300]) (ddof 0)
    const m = 598 / 3;
    const popStd = Math.sqrt(((100 - m) ** 2 + (198 - m) ** 2 + (300 - m) ** 2) / 3);
    expect(v.std_ttft_ms).toBeCloseTo(popStd, 10);
    expect(v.mean_itl_ms).toBe(30);
    expect(v.median_itl_ms).toBe(20);
    // np.std([20, 20, 20, 60]) = sqrt((3·100 + 900) / 4)
    expect(v.std_itl_ms).toBeCloseTo(Math.sqrt(1200 / 4), 10);
    expect(v.mean_tpot_ms).toBeCloseTo(85 / 3, 10);
    expect(v.median_e2el_ms).toBe(298);
  });

  it("writes null, not 0, for a metric with no values, and goodput when SLOs are set", () => {
    const oneToken = [
      trace({ index: 0, scheduledMs: 0, sendMs: 0, chunkMs: [50], endMs: 50 }),
      trace({ index: 1, scheduledMs: 0, sendMs: 0, chunkMs: [80], endMs: 90 }),
    ];
    const v = toVllmBenchServe(aggregate(oneToken, { slo: { ttftMs: 60 } }), {
      ...meta,
      requestRate: 2,
      maxConcurrency: 4,
      tokenizer: "gpt2",
      label: "run-1",
    });
    expect(v.mean_tpot_ms).toBeNull();
    expect(v.p99_tpot_ms).toBeNull();
    expect(v.std_itl_ms).toBeNull();
    expect(v.total_output_tokens).toBeNull();
    expect(v.output_throughput).toBeNull();
    expect(v.max_output_tokens_per_s).toBeNull();
    expect(v.mean_ttft_ms).toBe(65);
    expect(v.request_goodput).toBeCloseTo(1 / 0.09, 10);
    expect(v).toMatchObject({ request_rate: 2, max_concurrency: 4, tokenizer_id: "gpt2", label: "run-1" });
    // With max_concurrency, vLLM adds the client-side queueing metric.
    expect(v.mean_client_queue_time_ms).toBe(0);
  });

  it("adds --save-detailed per-request arrays in seconds when traces are given", () => {
    const traces = fixture();
    const v = toVllmBenchServe(aggregate(traces, { slo: {} }), { ...meta, traces });
    expect(v.input_lens).toEqual([10, 10, 10, 10, 10]);
    expect(v.output_lens).toEqual([4, 4, 1, 0, 0]);
    expect(v.ttfts).toEqual([0.1, 0.198, 0.3, null, null]);
    const itls = v.itls as number[][];
    expect(itls).toHaveLength(5);
    expect(itls[0]!.map((x) => Math.round(x * 1e6) / 1e6)).toEqual([0.02, 0.02, 0.02]);
    expect(itls[1]!.map((x) => Math.round(x * 1e6) / 1e6)).toEqual([0.06]);
    expect(itls.slice(2)).toEqual([[], [], []]);
    expect(v.latencies).toEqual([0.17, 0.298, 0.3, null, null]);
    expect(v.errors).toEqual(["", "", "", "boom", "incomplete"]);
    expect((v.queue_times as number[])[1]).toBeCloseTo(0.002, 12);
  });

  it("formats a Date like vLLM's %Y%m%d-%H%M%S", () => {
    expect(vllmDate(new Date(2025, 0, 2, 3, 4, 5))).toBe("20250102-030405");
    const v = toVllmBenchServe(aggregate([], { slo: {} }), {
      ...meta,
      date: new Date(2024, 11, 31, 23, 59, 58),
    });
    expect(v.date).toBe("20241231-235958");
    expect(v.duration).toBeNull();
    expect(v.completed).toBe(0);
  });
});
