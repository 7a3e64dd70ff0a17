/**
 * The simulated engine's performance model: step times, continuous batching, the batch and
 * KV-cache limits with queueing, cancellation, determinism for a seed, and the model file's
 * validation. Timings are checked exactly in virtual time (replay.ts), so they are hand-computed.
 */
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { replay } from "../../src/capacity/replay.js";
import { PerfEngine } from "../../src/runtimes/sim/engine.js";
import {
  decodeStepMs,
  loadPerfModel,
  type PerfModel,
  PerfModelError,
  toPerfModel,
  toPerfModelFile,
} from "../../src/runtimes/sim/perf-model.js";

/** 1,000 prefill tokens/s (1 ms a token) + 2 ms per prefill step; decode 10 + 1 ms per sequence. */
const MODEL: PerfModel = {
  prefillTokensPerS: 1000,
  prefillOverheadMs: 2,
  decode: { kind: "linear", baseMs: 10, perSeqMs: 1 },
  maxBatch: 4,
  kvCacheTokens: 10_000,
  jitter: 0,
};

describe("the engine's step times", () => {
  it("one request: TTFT is its prefill, every gap one decode step at batch 1", () => {
    const r = replay(MODEL, [{ atMs: 0, promptTokens: 100, outputTokens: 5 }]).requests[0]!;
    expect(r.ttftMs).toBeCloseTo(2 + 100, 9);
    expect(r.itlMs).toEqual([11, 11, 11, 11]);
    expect(r.e2eMs).toBeCloseTo(102 + 4 * 11, 9);
  });

  it("requests arriving together are prefilled in one step and decoded as one batch", () => {
    const r = replay(MODEL, [
      { atMs: 0, promptTokens: 100, outputTokens: 3 },
      { atMs: 0, promptTokens: 50, outputTokens: 3 },
    ]).requests;
    for (const x of r) {
      expect(x.ttftMs).toBeCloseTo(2 + 150, 9);
      expect(x.itlMs).toEqual([12, 12]);
    }
  });

  it("a request arriving mid-step joins the next step, which prefills it and decodes the others", () => {
    const r = replay(MODEL, [
      { atMs: 0, promptTokens: 10, outputTokens: 4 },
      { atMs: 5, promptTokens: 20, outputTokens: 2 },
    ]).requests;
    // Step 1: prefill A, 0..12. Step 2: prefill B (22) + decode A at batch 1 (11), 12..45.
    expect(r[0]!.ttftMs).toBeCloseTo(12, 9);
    expect(r[1]!.ttftMs).toBeCloseTo(45 - 5, 9);
    expect(r[0]!.itlMs[0]).toBeCloseTo(33, 9);
    // Step 3: decode A and B at batch 2 (12 ms); B's second token ends it.
    expect(r[0]!.itlMs[1]).toBeCloseTo(12, 9);
    expect(r[1]!.itlMs).toEqual([12]);
    expect(r[1]!.e2eMs).toBeCloseTo(45 + 12 - 5, 9);
  });

  it("a full batch queues the next request until a sequence finishes", () => {
    const one: PerfModel = { ...MODEL, maxBatch: 1 };
    const r = replay(one, [
      { atMs: 0, promptTokens: 10, outputTokens: 3 },
      { atMs: 0, promptTokens: 10, outputTokens: 3 },
    ]);
    const [a, b] = r.requests;
    expect(a!.e2eMs).toBeCloseTo(12 + 2 * 11, 9);
    expect(b!.ttftMs).toBeCloseTo(a!.e2eMs + 12, 9);
    expect(r.maxWaiting).toBe(1);
  });

  it("a full KV cache queues too, with room in the batch", () => {
    const small: PerfModel = { ...MODEL, kvCacheTokens: 20 };
    const r = replay(small, [
      { atMs: 0, promptTokens: 10, outputTokens: 5 },
      { atMs: 0, promptTokens: 10, outputTokens: 5 },
    ]).requests;
    expect(r[1]!.ttftMs).toBeCloseTo(r[0]!.e2eMs + 12, 9);
  });

  it("the queue is first come, first served: a large head blocks smaller requests behind it", () => {
    const small: PerfModel = { ...MODEL, kvCacheTokens: 100 };
    const r = replay(small, [
      { atMs: 0, promptTokens: 50, outputTokens: 10 },
      { atMs: 1, promptTokens: 70, outputTokens: 10 },
      { atMs: 2, promptTokens: 5, outputTokens: 5 },
    ]).requests;
    // The third would fit beside the first, but waits behind the second and starts with it.
    expect(r[2]!.ttftMs + 2).toBeCloseTo(r[1]!.ttftMs + 1, 9);
    expect(r[2]!.ttftMs + 2).toBeGreaterThan(r[0]!.e2eMs);
  });

  it("with a token budget per step, a long prompt is prefilled in chunks beside the decodes", () => {
    const chunked: PerfModel = { ...MODEL, maxBatchedTokens: 50 };
    const alone = replay(chunked, [{ atMs: 0, promptTokens: 120, outputTokens: 2 }]).requests[0]!;
    expect(alone.ttftMs).toBeCloseTo(52 + 52 + 22, 9);
    const r = replay(chunked, [
      { atMs: 0, promptTokens: 10, outputTokens: 6 },
      { atMs: 5, promptTokens: 100, outputTokens: 2 },
    ]).requests;
    // A decodes a token every step; B gets the rest of the budget: 49, 49, then 2 tokens.
    expect(r[0]!.itlMs.slice(0, 4)).toEqual([11 + 2 + 49, 11 + 2 + 49, 11 + 2 + 2, 12]);
    expect(r[1]!.ttftMs).toBeCloseTo(12 + 62 + 62 + 15 - 5, 9);
  });

  it("a closed loop sends each next request the moment one completes", () => {
    const same = { atMs: 999, promptTokens: 10, outputTokens: 3 };
    const r = replay(MODEL, [same, same, same, same], { closedLoop: 2 });
    // Two at once (prefill 2 + 20 ms, then two decode steps of 12 ms), then the next two.
    for (const x of r.requests) {
      expect(x.ttftMs).toBeCloseTo(22, 9);
      expect(x.e2eMs).toBeCloseTo(46, 9);
    }
    expect(Array.from(r.sentMs)).toEqual([0, 0, 46, 46]);
    const lastEnd = Math.max(...r.requests.map((x, i) => r.sentMs[i]! + x.e2eMs));
    expect(lastEnd).toBeCloseTo(92, 9);
  });

  it("replicas split arrivals round-robin and cut the queueing", () => {
    const one: PerfModel = { ...MODEL, maxBatch: 1 };
    const arrivals = Array.from({ length: 8 }, () => ({ atMs: 0, promptTokens: 10, outputTokens: 10 }));
    const single = replay(one, arrivals);
    const four = replay(one, arrivals, { replicas: 4 });
    const worst = (x: typeof single) => Math.max(...x.requests.map((r) => r.ttftMs));
    expect(worst(four)).toBeLessThan(worst(single) / 3);
    expect(four.maxWaiting).toBe(1);
  });
});

describe("the engine's state", () => {
  it("cancel frees the sequence's KV cache and batch slot at once", () => {
    const e = new PerfEngine<string>({ ...MODEL, maxBatch: 1 }, 0);
    e.enqueue("a", 10, 100);
    e.enqueue("b", 10, 100);
    expect(e.beginStep()).toBeCloseTo(12, 9);
    expect(e.kvUsedTokens).toBe(110);
    e.cancel("a"); // mid-step
    expect(e.kvUsedTokens).toBe(0);
    expect(e.endStep()).toEqual([]);
    e.beginStep();
    expect(e.endStep()).toEqual([{ key: "b", tokens: 1, done: false }]);
    expect(e.runningCount).toBe(1);
    expect(e.waitingCount).toBe(0);
  });

  it("refuses a sequence larger than the whole KV cache", () => {
    const e = new PerfEngine<number>({ ...MODEL, kvCacheTokens: 100 });
    expect(e.fits(60, 40)).toBe(true);
    expect(e.fits(60, 41)).toBe(false);
    expect(() => e.enqueue(1, 60, 41)).toThrow(/exceed the KV cache/);
  });

  it("jitter is seeded: the same seed gives the same times, another seed others", () => {
    const jittery: PerfModel = { ...MODEL, jitter: 0.2 };
    const arrivals = Array.from({ length: 20 }, (_, i) => ({
      atMs: i * 7,
      promptTokens: 30,
      outputTokens: 20,
    }));
    const a = replay(jittery, arrivals, { seed: 1 }).requests;
    const b = replay(jittery, arrivals, { seed: 1 }).requests;
    const c = replay(jittery, arrivals, { seed: 2 }).requests;
    expect(a).toEqual(b);
    expect(a.map((r) => r.e2eMs)).not.toEqual(c.map((r) => r.e2eMs));
    const gaps = a.flatMap((r) => r.itlMs);
    // Every decode step stays within ±20 % of its model time (batch 1..4: 11..14 ms).
    for (const g of gaps) expect(g).toBeGreaterThan(11 * 0.8 - 1e-9);
  });
});

describe("the performance model file", () => {
  it("a decode curve of points interpolates step time between batch sizes", () => {
    const curve = {
      kind: "points" as const,
      points: [
        [1, 100],
        [5, 50],
      ] as Array<[number, number]>,
    };
    expect(decodeStepMs(curve, 1)).toBeCloseTo(10, 9);
    expect(decodeStepMs(curve, 3)).toBeCloseTo(15, 9);
    expect(decodeStepMs(curve, 5)).toBeCloseTo(20, 9);
    expect(decodeStepMs(curve, 9)).toBeCloseTo(30, 9); // along the last segment
    expect(decodeStepMs(curve, 0)).toBe(0);
  });

  it("reports every bad field at once, by name", () => {
    try {
      toPerfModel({
        prefill_tokens_per_s: -1,
        max_batch: 1.5,
        decode: { base_ms: 1, per_seq_ms: 0 },
        extra: 1,
      });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(PerfModelError);
      const paths = (err as PerfModelError).problems.map((p) => p.path);
      expect(paths).toEqual(expect.arrayContaining(["prefill_tokens_per_s", "max_batch", "kv_cache_tokens"]));
      expect((err as PerfModelError).message).toMatch(/prefill_tokens_per_s: must be a number > 0/);
    }
  });

  it("needs exactly one decode curve, with increasing batch sizes", () => {
    const base = { prefill_tokens_per_s: 1, max_batch: 1, kv_cache_tokens: 10 };
    expect(() => toPerfModel(base)).toThrow(/decode: give exactly one/);
    expect(() =>
      toPerfModel({ ...base, decode: { base_ms: 1, per_seq_ms: 1 }, decode_tokens_per_s: [[1, 10]] }),
    ).toThrow(/decode: give exactly one/);
    expect(() =>
      toPerfModel({
        ...base,
        decode_tokens_per_s: [
          [4, 10],
          [2, 20],
        ],
      }),
    ).toThrow(/decode_tokens_per_s.1: batch sizes must increase/);
    expect(() => toPerfModel({ ...base, decode: { base_ms: 0, per_seq_ms: 0 } })).toThrow(/decode: base_ms/);
    expect(() =>
      toPerfModel({ ...base, max_batch: 8, decode: { base_ms: 1, per_seq_ms: 0 }, max_batched_tokens: 4 }),
    ).toThrow(/max_batched_tokens: must be ≥ max_batch \(8\)/);
  });

  it("the models shipped in configs/sim load", () => {
    const dir = join(import.meta.dirname, "..", "..", "configs", "sim");
    const files = readdirSync(dir).filter((f) => /\.(json|ya?ml)$/.test(f));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(loadPerfModel(join(dir, f)).maxBatch).toBeGreaterThan(0);
  });

  it("round-trips through its file form, from a YAML file or inline JSON", () => {
    const file = toPerfModelFile(MODEL, { note: "kept" });
    expect(toPerfModel(file)).toEqual(MODEL);
    const dir = mkdtempSync(join(tmpdir(), "tf-perf-"));
    const path = join(dir, "perf.yaml");
    writeFileSync(
      path,
      "prefill_tokens_per_s: 1000\nprefill_overhead_ms: 2\ndecode: {base_ms: 10, per_seq_ms: 1}\nmax_batch: 4\nkv_cache_tokens: 10000\n",
    );
    expect(loadPerfModel(path)).toEqual(MODEL);
    expect(loadPerfModel(JSON.stringify(file))).toEqual(MODEL);
    expect(() => loadPerfModel(join(dir, "missing.yaml"))).toThrow(/perf: cannot read/);
    expect(() => loadPerfModel("{not json")).toThrow(/perf: is not valid JSON/);
  });
});
