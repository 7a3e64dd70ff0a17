/**
 * Trace reduction: every metric against values computed by hand from small hand-built traces,
 * and the statistics against numpy's known results.
 */
import { describe, expect, it } from "vitest";
import { aggregate, aggregateStream } from "../../src/bench/aggregate.js";
import { mean, percentile, stdev, summarize } from "../../src/bench/stats.js";
import type { RequestTrace } from "../../src/bench/types.js";

function trace(
  t: Partial<RequestTrace> & Pick<RequestTrace, "index" | "scheduledMs" | "sendMs">,
): RequestTrace {
  return { warmup: false, chunkMs: [], outcome: "ok", promptTokens: 10, maxTokens: 4, ...t };
}

/**
 * r0: TTFT 100, E2E 170, 4 one-token chunks 20 ms apart → TPOT 70/3, ITL 20,20,20.
 * r1: 2 ms late; 2 chunks (2 tokens each) → TTFT 198 (200 from scheduled), E2E 298 (300),
 *     TPOT 100/3, ITL 60; the server counted 12 prompt tokens where the plan had 10.
 * r2: one token → TTFT 300, E2E 300, no TPOT, no ITL; 1 of 4 requested tokens.
 * r3, r4: HTTP 500 "boom".
 * w: a warmup request long before, which must not move the window or any figure.
 */
function fixture(): RequestTrace[] {
  return [
    trace({
      index: -1,
      warmup: true,
      scheduledMs: -5000,
      sendMs: -5000,
      chunkMs: [-4000, -3000],
      endMs: -2000,
      usage: { promptTokens: 10, completionTokens: 2 },
    }),
    trace({
      index: 0,
      scheduledMs: 0,
      sendMs: 0,
      chunkMs: [100, 120, 140, 160],
      endMs: 170,
      status: 200,
      usage: { promptTokens: 10, completionTokens: 4 },
    }),
    trace({
      index: 1,
      scheduledMs: 500,
      sendMs: 502,
      chunkMs: [700, 760],
      endMs: 800,
      status: 200,
      usage: { promptTokens: 12, completionTokens: 4 },
    }),
    trace({
      index: 2,
      scheduledMs: 1000,
      sendMs: 1000,
      chunkMs: [1300],
      endMs: 1300,
      status: 200,
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
    trace({
      index: 4,
      scheduledMs: 1600,
      sendMs: 1600,
      endMs: 1605,
      status: 500,
      outcome: "error",
      error: "boom",
    }),
  ];
}

const DURATION_S = 1.605; // first send 0 → last end 1605

describe("stats", () => {
  it("percentiles interpolate linearly like numpy's default", () => {
    const x = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // np.percentile(np.arange(1, 11), [0, 50, 90, 95, 99, 100]) → 1, 5.5, 9.1, 9.55, 9.91, 10
    expect(percentile(x, 0)).toBe(1);
    expect(percentile(x, 50)).toBeCloseTo(5.5, 12);
    expect(percentile(x, 90)).toBeCloseTo(9.1, 12);
    expect(percentile(x, 95)).toBeCloseTo(9.55, 12);
    expect(percentile(x, 99)).toBeCloseTo(9.91, 12);
    expect(percentile(x, 100)).toBe(10);
    // np.percentile([15, 20, 35, 40, 50], 40) → 29
    expect(percentile([15, 20, 35, 40, 50], 40)).toBeCloseTo(29, 12);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeUndefined();
    expect(() => percentile(x, 101)).toThrow(RangeError);
  });

  it("mean and sample stdev; a summary of nothing is absent", () => {
    const x = [2, 4, 4, 4, 5, 5, 7, 9];
    expect(mean(x)).toBe(5);
    // np.std(x, ddof=1) = sqrt(32 / 7)
    expect(stdev(x)).toBeCloseTo(Math.sqrt(32 / 7), 12);
    expect(stdev([3])).toBe(0);
    expect(summarize([])).toBeUndefined();
    const s = summarize([9, 1, 5])!;
    expect(s).toMatchObject({ count: 3, mean: 5, min: 1, max: 9, p50: 5, stdev: 4 });
    expect(s.p90).toBeCloseTo(8.2, 12);
  });
});

describe("aggregate", () => {
  it("computes TTFT, E2E, TPOT, ITL and tokens per chunk from chunk times and usage", () => {
    const m = aggregate(fixture(), { slo: {} });
    expect(m.warmupRequests).toBe(1);
    expect(m.counts).toEqual({ total: 5, ok: 3, errored: 2, incomplete: 0 });

    expect(m.ttftMs!.count).toBe(3);
    expect(m.ttftMs!.min).toBe(100);
    expect(m.ttftMs!.p50).toBe(198);
    expect(m.ttftMs!.max).toBe(300);
    expect(m.ttftMs!.mean).toBeCloseTo(598 / 3, 10);
    expect(m.ttftMs!.p99).toBeCloseTo(198 + 0.98 * 102, 10);
    expect(m.ttftFromScheduledMs).toMatchObject({ count: 3, min: 100, p50: 200, max: 300 });

    expect(m.e2eMs).toMatchObject({ count: 3, min: 170, p50: 298, max: 300 });
    expect(m.e2eFromScheduledMs).toMatchObject({ min: 170, p50: 300, max: 300 });

    expect(m.tpotMs!.count).toBe(2);
    expect(m.tpotMs!.min).toBeCloseTo(70 / 3, 10);
    expect(m.tpotMs!.max).toBeCloseTo(100 / 3, 10);
    expect(m.tpotMs!.mean).toBeCloseTo(85 / 3, 10);

    // Pooled gaps 20, 20, 20, 60.
    expect(m.itlMs).toMatchObject({ count: 4, min: 20, p50: 20, max: 60, mean: 30 });
    expect(m.itlMs!.p99).toBeCloseTo(20 + 0.97 * 40, 10);
    expect(m.tokensPerChunk).toBeCloseTo(9 / 7, 12);

    expect(m.excluded).toEqual({ ttft: 0, e2e: 0, tpot: 1, itl: 1, tokensPerChunk: 0, peakOutputTokens: 0 });
  });

  it("measures the window from the first non-warmup send to the last end and divides by it", () => {
    const m = aggregate(fixture(), { slo: {} });
    expect(m.window).toEqual({ startMs: 0, endMs: 1605 });
    expect(m.durationS).toBeCloseTo(DURATION_S, 12);
    expect(m.requestThroughput).toBeCloseTo(3 / DURATION_S, 12);
    expect(m.tokens).toEqual({ input: 32, output: 9, usageMissing: 0 });
    expect(m.inputTokenThroughput).toBeCloseTo(32 / DURATION_S, 12);
    expect(m.outputTokenThroughput).toBeCloseTo(9 / DURATION_S, 12);
    expect(m.totalTokenThroughput).toBeCloseTo(41 / DURATION_S, 12);
    // Bin [0, 1 s): r0's 4 one-token chunks + r1's 2 chunks of 2 tokens = 8; bin [1 s, 1.605 s]: 1.
    expect(m.peakOutputTokensPerS).toBe(8);
    // [0,170), [502,800), [1000,1300) never overlap.
    expect(m.peakConcurrency).toBe(1);
  });

  it("uses a window the caller gives", () => {
    const m = aggregate(fixture(), { slo: {}, windowStartMs: 0, windowEndMs: 2000 });
    expect(m.durationS).toBe(2);
    expect(m.requestThroughput).toBeCloseTo(1.5, 12);
  });

  it("counts per-chunk tokens for the peak when the server reports them", () => {
    const m = aggregate(
      [
        trace({
          index: 0,
          scheduledMs: 0,
          sendMs: 0,
          chunkMs: [900, 1100, 1200],
          chunkTokens: [5, 1, 2],
          endMs: 1200,
          usage: { promptTokens: 10, completionTokens: 8 },
        }),
      ],
      { slo: {} },
    );
    expect(m.peakOutputTokensPerS).toBe(5);
    expect(m.tokenMismatch.completionVsChunks).toBe(0);
  });

  it("reports errors, up to five distinct samples with counts", () => {
    const m = aggregate(fixture(), { slo: {} });
    expect(m.errorSamples).toEqual([{ outcome: "error", status: 500, error: "boom", count: 2 }]);
    const many = Array.from({ length: 8 }, (_, i) =>
      trace({ index: i, scheduledMs: i, sendMs: i, outcome: "error", error: `e${i % 7}` }),
    );
    const samples = aggregate(many, { slo: {} }).errorSamples;
    expect(samples).toHaveLength(5);
    expect(samples[0]).toEqual({ outcome: "error", error: "e0", count: 2 });
    const incomplete = aggregate([trace({ index: 0, scheduledMs: 0, sendMs: 0, outcome: "incomplete" })], {
      slo: {},
    });
    expect(incomplete.counts.incomplete).toBe(1);
    expect(incomplete.errorSamples[0]).toMatchObject({ outcome: "incomplete", count: 1 });
  });

  it("counts token mismatches between plan, request and server usage", () => {
    const m = aggregate(fixture(), { slo: {} });
    expect(m.tokenMismatch).toEqual({
      compared: 3,
      promptVsPlanned: 1,
      completionVsRequested: 1,
      completionVsChunks: 1,
      plannedPromptTokens: 30,
      serverPromptTokens: 32,
      requestedCompletionTokens: 12,
      serverCompletionTokens: 9,
    });
    expect(m.warnings.some((w) => w.includes("prompt token count"))).toBe(true);
    expect(m.warnings.some((w) => w.includes("max_tokens"))).toBe(true);
  });

  it("leaves token figures absent, not zero, when usage is missing, and says how many", () => {
    const noUsage = fixture().map((t) => ({ ...t, usage: undefined }));
    const m = aggregate(noUsage, { slo: {}, cost: { dollarsPerHour: 2, breakdown: {} } });
    expect(m.tokens).toEqual({ usageMissing: 3 });
    expect(m.inputTokenThroughput).toBeUndefined();
    expect(m.outputTokenThroughput).toBeUndefined();
    expect(m.totalTokenThroughput).toBeUndefined();
    expect(m.tpotMs).toBeUndefined();
    expect(m.excluded.tpot).toBe(3);
    expect(m.tokensPerChunk).toBeUndefined();
    expect(m.peakOutputTokensPerS).toBeUndefined();
    expect(m.excluded.peakOutputTokens).toBe(7);
    expect(m.cost).toEqual({ dollarsPerHour: 2 });
    expect(JSON.parse(JSON.stringify(m.cost))).toEqual({ dollarsPerHour: 2 });
    // Latencies that need no usage are still there.
    expect(m.ttftMs!.count).toBe(3);
    expect(m.itlMs!.count).toBe(4);

    const partly = fixture().map((t) => (t.index === 1 ? { ...t, usage: undefined } : t));
    const p = aggregate(partly, { slo: {} });
    expect(p.tokens).toEqual({ input: 20, output: 5, usageMissing: 1 });
    expect(p.outputTokenThroughput).toBeCloseTo(5 / DURATION_S, 12);
    expect(p.warnings.some((w) => w.startsWith("1 of 3 ok request(s) reported no usage"))).toBe(true);
  });

  it("has no summaries and no window for no traces", () => {
    const m = aggregate([], { slo: { ttftMs: 100 } });
    expect(m.counts).toEqual({ total: 0, ok: 0, errored: 0, incomplete: 0 });
    expect(m.ttftMs).toBeUndefined();
    expect(m.itlMs).toBeUndefined();
    expect(m.clientLagMs).toBeUndefined();
    expect(m.window).toBeUndefined();
    expect(m.durationS).toBeUndefined();
    expect(m.requestThroughput).toBeUndefined();
    expect(m.goodput).toEqual({ slo: { ttftMs: 100 }, met: 0 });
    expect(m.lagWarning).toBe(false);
  });

  it("counts goodput against every configured SLO; a missing value does not meet one", () => {
    // r0 meets both; r1's TPOT 33.3 > 30; r2's TTFT 300 > 250 (and it has no TPOT).
    const m = aggregate(fixture(), { slo: { ttftMs: 250, tpotMs: 30 } });
    expect(m.goodput!.met).toBe(1);
    expect(m.goodput!.requestsPerS).toBeCloseTo(1 / DURATION_S, 12);
    expect(m.goodput!.fraction).toBeCloseTo(1 / 5, 12);
    expect(m.goodput!.slo).toEqual({ ttftMs: 250, tpotMs: 30 });

    expect(aggregate(fixture(), { slo: { e2eMs: 298 } }).goodput!.met).toBe(2);
    // r2 produced one token: no TPOT, so it cannot meet a TPOT SLO however loose.
    expect(aggregate(fixture(), { slo: { tpotMs: 1000 } }).goodput!.met).toBe(2);
    expect(aggregate(fixture(), { slo: {} }).goodput).toBeUndefined();
  });

  it("computes cost per 1M tokens as $/h × 1e6 / (throughput × 3600)", () => {
    const m = aggregate(fixture(), { slo: {}, cost: { dollarsPerHour: 3.6, breakdown: { hourly: 3.6 } } });
    // 3.6 × 1e6 / ((9 / 1.605) × 3600) = 1000 × 1.605 / 9
    expect(m.cost!.costPer1MOutputTokens).toBeCloseTo((1000 * DURATION_S) / 9, 9);
    expect(m.cost!.costPer1MInputTokens).toBeCloseTo((1000 * DURATION_S) / 32, 9);
    expect(m.cost!.costPer1MTotalTokens).toBeCloseTo((1000 * DURATION_S) / 41, 9);
    expect(m.cost!.dollarsPerHour).toBe(3.6);
    expect(aggregate(fixture(), { slo: {} }).cost).toBeUndefined();
  });

  it("summarizes client lag, and warns on a fixture's 2 ms lag only where a schedule exists and it matters", () => {
    const m = aggregate(fixture(), { slo: {} });
    // Lags 0, 2, 0, 0, 0 → p99 = 0.96 × 2.
    expect(m.clientLagMs).toMatchObject({ count: 5, max: 2, p50: 0 });
    expect(m.clientLagMs!.p99).toBeCloseTo(1.92, 12);
    // No offered rate: no schedule (a closed loop or a burst), so no warning, however large the lag.
    expect(m.sendRate).toBeUndefined();
    expect(m.lagWarning).toBe(false);
    expect(m.lagMessage).toBeUndefined();
    // With a schedule: 2 ms on one of five requests moves neither the rate nor a TTFT percentile
    // beyond what five requests can tell apart.
    const scheduled = aggregate(fixture(), { slo: {}, offeredQps: 2.5 });
    expect(scheduled.sendRate).toMatchObject({ requests: 5, offeredQps: 2.5, achievedQps: 2.5 });
    expect(scheduled.lagWarning).toBe(false);
  });

  /** n requests scheduled every 10 ms, each sent `lag(i)` ms late, TTFT 50 + i % 7 ms from send. */
  const paced = (n: number, lag: (i: number) => number): RequestTrace[] =>
    Array.from({ length: n }, (_, i) => {
      const sendMs = i * 10 + lag(i);
      const first = sendMs + 50 + (i % 7);
      return trace({
        index: i,
        scheduledMs: i * 10,
        sendMs,
        chunkMs: [first, first + 5],
        endMs: first + 5,
        usage: { promptTokens: 10, completionTokens: 2 },
        maxTokens: 2,
      });
    });

  it("warns when the achieved rate falls short of the offered by more than the run's noise", () => {
    // A client falling steadily behind: the last of 400 requests leaves 40% of the span late.
    const behind = aggregate(
      paced(400, (i) => i * 4),
      { slo: {}, offeredQps: 100 },
    );
    expect(behind.sendRate!.offeredQps).toBeCloseTo(100, 9);
    expect(behind.sendRate!.achievedQps).toBeCloseTo(100 / 1.4, 9);
    // Constant gaps: the noise is one request in the run.
    expect(behind.sendRate!.noise).toBeCloseTo(1 / 399, 12);
    expect(behind.lagWarning).toBe(true);
    expect(behind.lagMessage).toMatch(
      /^offered load not reached: requests left at 71\.43 req\/s of the 100 req\/s/,
    );
    expect(behind.lagMessage).toMatch(/give it more CPU/);
    // Waits for max_concurrency are named as the cause, with their remedy.
    const capped = aggregate(
      paced(400, (i) => i * 4),
      { slo: {}, offeredQps: 100, queuedRequests: 390 },
    );
    expect(capped.lagMessage).toMatch(
      /390 request\(s\) waited for a max_concurrency slot: raise max_concurrency or lower qps/,
    );
    expect(behind.warnings[0]).toBe(behind.lagMessage);
  });

  it("does not warn on lag that neither moves the rate nor TTFT beyond noise", () => {
    // Every request 0.3 ms late, one 1.5 ms: the old rule (lag p99 > 1 ms) fired here.
    const m = aggregate(
      paced(400, (i) => (i === 200 ? 1.5 : 0.3)),
      { slo: {}, offeredQps: 100 },
    );
    expect(m.clientLagMs!.max).toBe(1.5);
    expect(m.lagWarning).toBe(false);
    expect(m.warnings).toEqual([]);
  });

  it("warns when TTFT from the schedule leaves TTFT from send's noise, with what to do", () => {
    // A 40 ms stall every 10th request: the rate holds (the client catches up) but p99 moves.
    const m = aggregate(
      paced(1000, (i) => (i % 10 === 5 ? 40 : 0)),
      { slo: {}, offeredQps: 100 },
    );
    expect(m.sendRate!.shortfall).toBeLessThan(2 * m.sendRate!.noise);
    expect(m.lagWarning).toBe(true);
    expect(m.lagMessage).toMatch(
      /^TTFT from the schedule differs from TTFT from send beyond the run's noise: p99 /,
    );
    expect(m.lagMessage).not.toMatch(/p50 /);
    expect(m.lagMessage).toMatch(/read TTFT from send for the server alone/);
    // 400 requests cannot bound a p99 (the interval's upper rank is past the largest value).
    const few = aggregate(
      paced(400, (i) => (i % 10 === 5 ? 40 : 0)),
      { slo: {}, offeredQps: 100 },
    );
    expect(few.lagWarning).toBe(false);
  });

  it("passes offered rate and token source through", () => {
    const m = aggregate(fixture(), { slo: {}, offeredQps: 4, tokenSource: "server-tokenize" });
    expect(m.offeredQps).toBe(4);
    expect(m.tokenSource).toBe("server-tokenize");
  });

  it("reduces an async stream of traces to the same metrics", async () => {
    async function* stream(): AsyncGenerator<RequestTrace> {
      for (const t of fixture()) yield t;
    }
    const ctx = { slo: { ttftMs: 250 }, cost: { dollarsPerHour: 1, breakdown: {} } };
    expect(await aggregateStream(stream(), ctx)).toEqual(aggregate(fixture(), ctx));
  });

  it("reduces many traces into typed arrays", () => {
    function* many(): Generator<RequestTrace> {
      for (let i = 0; i < 20_000; i++) {
        const s = i * 10;
        yield trace({
          index: i,
          scheduledMs: s,
          sendMs: s,
          chunkMs: [s + 50, s + 55, s + 60],
          endMs: s + 60,
          usage: { promptTokens: 10, completionTokens: 3 },
          maxTokens: 3,
        });
      }
    }
    const m = aggregate(many(), { slo: {} });
    expect(m.counts.ok).toBe(20_000);
    expect(m.itlMs).toMatchObject({ count: 40_000, p50: 5, p99: 5 });
    expect(m.tpotMs!.p50).toBeCloseTo(5, 12);
    // Each 1 s bin holds the chunks of 100 requests × 3 tokens.
    expect(m.peakOutputTokensPerS).toBe(300);
    expect(m.peakConcurrency).toBe(6);
  });
});
