/**
 * Each traffic shape once against a real engine: the llama.cpp worker on the tiny synthetic
 * model, with short runs. What is checked is that the shape runs end to end on a real server and
 * reports what it should; the figures themselves are the machine's.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configFromObject, workloadOf } from "../../src/bench/config.js";
import { runBenchmark } from "../../src/bench/run.js";
import type { Workload } from "../../src/bench/types.js";
import { RuntimeRegistry } from "../../src/runtimes/registry.js";
import type { RunningWorker } from "../../src/worker/server.js";
import { startTestWorker } from "../helpers/worker.js";

let worker: RunningWorker;
let dir: string;
beforeAll(async () => {
  // A queue without a bound (the worker's admission would answer 429 past 2 × parallel waiting),
  // so the saturation test sees requests pile up as on a server that admits everything.
  worker = await startTestWorker({ parallel: 2, contextLength: 1024, limits: { maxWaiting: 100_000 } });
  dir = mkdtempSync(join(tmpdir(), "tokenforge-shapes-"));
}, 120_000);
afterAll(async () => {
  await worker?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function run(workload: Workload, out: string) {
  return runBenchmark({
    config: {
      model: "synthetic:tiny",
      runtimes: ["llamacpp"],
      targets: { llamacpp: worker.url },
      workloads: [workload],
      seed: 5,
    },
    runtimes: new RuntimeRegistry([]),
    outDir: join(dir, out),
    serverMetrics: false,
  });
}

describe("traffic shapes on the llama.cpp worker", () => {
  it("searches for the best rate under an SLO", async () => {
    // A loose SLO: every rate up to the ceiling passes, so the search ends at max_qps.
    const result = await run(
      workloadOf({
        name: "search",
        numRequests: 6,
        promptLen: { kind: "fixed", value: 16 },
        genTokens: { kind: "fixed", value: 4 },
        arrival: { kind: "constant" },
        slo: { e2eMs: 60_000 },
        sweep: {
          search: { attainment: 0.9, confidence: 0.95, tolerance: 0.1, maxPoints: 4, startQps: 1, maxQps: 3 },
        },
        seed: 5,
      }),
      "search",
    );
    expect(result.status).toBe("complete");
    const s = result.sweeps[0]!;
    expect(s.search!.points.map((p) => p.qps)).toEqual([1, 2, 3]);
    expect(s.search!.end).toBe("max-qps");
    expect(s.capacity).toMatchObject({ rate: 3, attainment: 1, label: "search/3rps" });
    expect(s.capacity!.goodput).toBeGreaterThan(0);
  }, 120_000);

  it("ramps the rate and reports each step", async () => {
    // Linear 1 → 4 req/s over 2 s: Λ(t) = t + 0.75t², Λ(2) = 5 requests; Λ(1) = 1.75, so requests
    // 0 and 1 fall in the first second and 2..4 in the second.
    const result = await run(
      workloadOf({
        name: "ramp",
        promptLen: { kind: "fixed", value: 16 },
        genTokens: { kind: "fixed", value: 4 },
        arrival: { kind: "constant" },
        ramp: { of: "qps", from: 1, to: 4, durationS: 2, shape: "linear", steps: 2 },
        seed: 5,
      }),
      "ramp",
    );
    expect(result.status).toBe("complete");
    const steps = result.results[0]!.steps!;
    expect(steps.map((s) => s.metrics.counts.ok)).toEqual([2, 3]);
    expect(steps.map((s) => s.offeredQps)).toEqual([1.75, 3.25]);
  }, 120_000);

  it("stops a run the server cannot keep up with", async () => {
    // Far more than two slots on one thread can serve: requests in flight climb at once.
    const result = await run(
      workloadOf({
        name: "flood",
        qps: 400,
        numRequests: 4000,
        promptLen: { kind: "fixed", value: 32 },
        genTokens: { kind: "fixed", value: 32 },
        arrival: { kind: "constant" },
        saturation: { windowS: 1, minGrowth: 0.5 },
        seed: 5,
      }),
      "flood",
    );
    const r = result.results[0]!;
    expect(r.stopped?.reason).toBe("saturation");
    expect(r.run.notSent).toBeGreaterThan(0);
    expect(result.status).toBe("complete");
  }, 120_000);

  it("runs multi-turn chat sessions", async () => {
    const result = await run(
      workloadOf({
        name: "sessions",
        endpoint: "chat",
        qps: 4,
        arrival: { kind: "constant" },
        promptLen: { kind: "fixed", value: 12 },
        genTokens: { kind: "fixed", value: 4 },
        sessions: {
          turns: { kind: "fixed", value: 3 },
          thinkMs: { kind: "fixed", value: 20 },
          systemPrompt: 16,
          count: 2,
        },
        seed: 5,
      }),
      "sessions",
    );
    expect(result.status).toBe("complete");
    const s = result.results[0]!.sessions!;
    expect(s.totals).toMatchObject({ started: 2, completed: 2, turnsSent: 6 });
    expect(s.turns.map((t) => t.metrics.counts.ok)).toEqual([2, 2, 2]);
    // The server counts the history: each turn's prompt is longer than the last by a reply and a
    // message (4 + 12 content tokens, plus the chat template's tokens around the two messages).
    const input = s.turns.map((t) => t.metrics.tokens.input! / 2);
    expect(input[1]! - input[0]!).toBeGreaterThanOrEqual(16);
    expect(input[2]! - input[1]!).toBe(input[1]! - input[0]!);
  }, 120_000);

  it("replays a trace with shared prompt blocks", async () => {
    const path = join(dir, "trace.jsonl");
    const rows = [
      { timestamp: 0, input_length: 40, output_length: 4, hash_ids: [1, 2] },
      { timestamp: 200, input_length: 56, output_length: 4, hash_ids: [1, 2, 3] },
      { timestamp: 400, input_length: 20, output_length: 4 },
    ];
    writeFileSync(path, `${rows.map((r) => JSON.stringify(r)).join("\n")}\n`);
    const workload = configFromObject(
      {
        model: "synthetic:tiny",
        runtimes: ["llamacpp"],
        workloads: [{ name: "replay", trace: { path, speedup: 2, block_tokens: 16 } }],
      },
      { baseDir: dir },
    ).workloads[0]!;
    const result = await run(workload, "replay");
    expect(result.status).toBe("complete");
    const m = result.results[0]!.metrics;
    expect(m.counts.ok).toBe(3);
    expect(m.tokens.output).toBe(12);
    // Prompts were counted on the worker's own tokenizer: the trace's lengths, as it counts them.
    expect(m.tokenMismatch.promptVsPlanned).toBe(0);
  }, 120_000);

  it("reports no reasoning figures for a model that streams none", async () => {
    // The tiny model streams only answer content: TTFT is the first answer token, and the time
    // to first output token and the reasoning counts, which would equal or zero it, stay absent.
    const result = await run(
      workloadOf({
        name: "plain-chat",
        endpoint: "chat",
        qps: 4,
        numRequests: 4,
        promptLen: { kind: "fixed", value: 16 },
        genTokens: { kind: "fixed", value: 4 },
        seed: 5,
      }),
      "plain-chat",
    );
    const m = result.results[0]!.metrics;
    expect(m.counts.ok).toBe(4);
    expect(m.ttftMs).toBeDefined();
    expect(m.timeToFirstOutputMs).toBeUndefined();
    expect(m.reasoning).toBeUndefined();
  }, 120_000);
});
