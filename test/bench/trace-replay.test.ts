/**
 * Trace replay: both formats parsed with every bad line named, prompts built so that lines
 * sharing block ids share exactly that prefix, the schedule at the timestamps over `speedup`, and
 * a replay against the simulated server whose token counts and send times are checked by hand.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configFromObject } from "../../src/bench/config.js";
import { buildPlan } from "../../src/bench/plan.js";
import { uncalibrated } from "../../src/bench/prompts.js";
import { runBenchmark } from "../../src/bench/run.js";
import { readTraces } from "../../src/bench/trace-io.js";
import { parseTrace } from "../../src/bench/trace-replay.js";
import type { Workload } from "../../src/bench/types.js";
import { RuntimeRegistry } from "../../src/runtimes/registry.js";
import { type SimChild, startSimChild } from "../helpers/sim.js";

const dir = mkdtempSync(join(tmpdir(), "tokenforge-trace-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MOONCAKE = [
  { timestamp: 1000, input_length: 150, output_length: 4, hash_ids: [1, 2] },
  { timestamp: 1500, input_length: 200, output_length: 6, hash_ids: [1, 2, 3] },
  { timestamp: 3000, input_length: 40, output_length: 2, hash_ids: [1] },
  { timestamp: 3000, input_length: 30, output_length: 3 },
]
  .map((r) => JSON.stringify(r))
  .join("\n");
const tracePath = join(dir, "t.jsonl");
writeFileSync(tracePath, `${MOONCAKE}\n`);

function traceWorkload(speedup: number): Workload {
  return configFromObject(
    {
      model: "sim",
      runtimes: ["sim"],
      workloads: [{ name: "replay", trace: { path: tracePath, speedup, block_tokens: 64 } }],
    },
    { baseDir: dir },
  ).workloads[0]!;
}

const words = (body: string): string[] =>
  (JSON.parse(body).prompt as string).split(" ").filter((w) => w !== "");

describe("trace parsing", () => {
  it("reads the Mooncake format and the plain one", () => {
    const m = parseTrace(MOONCAKE, "mooncake");
    expect(m.problems).toEqual([]);
    expect(m.lines[1]).toEqual({ atMs: 1500, inputTokens: 200, outputTokens: 6, blocks: ["1", "2", "3"] });
    expect(m.lines[3]!.blocks).toEqual([]);
    const p = parseTrace('{"at_s": 0.5, "prompt_len": 10, "gen_tokens": 2, "blocks": ["sys", 7]}\n', "plain");
    expect(p.lines).toEqual([{ atMs: 500, inputTokens: 10, outputTokens: 2, blocks: ["sys", "7"] }]);
  });

  it("names every bad line", () => {
    const text = [
      '{"timestamp": 10, "input_length": 5, "output_length": 1}',
      "not json",
      '{"timestamp": 5, "input_length": 0, "output_length": 1}',
      '{"timestamp": 20, "input_length": 5, "output_length": 1, "hash_ids": [1.5]}',
    ].join("\n");
    expect(parseTrace(text, "mooncake").problems).toEqual([
      "line 2: not a JSON object",
      "line 3: timestamp 5 is earlier than the line before (10); input_length must be an integer ≥ 1",
      "line 4: hash_ids must be a list of integer or string ids",
    ]);
    expect(parseTrace("\n", "plain").problems).toEqual(["holds no requests"]);
  });
});

describe("trace plan", () => {
  it("schedules at the timestamps over speedup and shares exactly the blocks in common", () => {
    const plan = buildPlan(traceWorkload(2), "sim", uncalibrated());
    expect(plan.count).toBe(4);
    if (plan.mode.kind !== "open") throw new Error("open loop expected");
    // (t − 1000 ms) / 2
    expect([...plan.mode.atMs]).toEqual([0, 250, 1000, 1000]);
    const w = [0, 1, 2, 3].map((i) => words(plan.body(i, false)));
    expect(w.map((x) => x.length)).toEqual([150, 200, 40, 30]);
    expect([0, 1, 2, 3].map((i) => plan.request(i, false).maxTokens)).toEqual([4, 6, 2, 3]);
    // Lines 0 and 1 share blocks 1 and 2: 128 words exactly, then differ.
    expect(w[1]!.slice(0, 128)).toEqual(w[0]!.slice(0, 128));
    expect(w[1]!.slice(128, 140)).not.toEqual(w[0]!.slice(128, 140));
    // Line 2 is the first 40 words of block 1.
    expect(w[2]).toEqual(w[0]!.slice(0, 40));
    // Line 3 has no blocks: it shares no start with the others.
    expect(w[3]!.slice(0, 4)).not.toEqual(w[0]!.slice(0, 4));
    // The first-request check's prompt is shaped like line (index mod 4) but shares no block:
    // 0x3fffffff mod 4 = 3, and a warmup index of 0 is line 0's 150 tokens without its blocks.
    expect(words(plan.body(0x3fffffff, true))).toHaveLength(30);
    const check = words(plan.body(0, true));
    expect(check).toHaveLength(150);
    expect(check.slice(0, 8)).not.toEqual(w[0]!.slice(0, 8));
  });
});

describe("trace replay against the sim server", () => {
  let sim: SimChild;
  beforeAll(async () => {
    sim = await startSimChild({ ttftMs: 5, itlMs: 2, noGroundTruth: true });
  });
  afterAll(async () => {
    await sim?.stop();
  });

  it("sends each line at its time with its lengths", async () => {
    const workload = traceWorkload(4);
    const out = join(dir, "run");
    const result = await runBenchmark({
      config: { model: "sim", runtimes: ["sim"], targets: { sim: sim.url }, workloads: [workload], seed: 1 },
      runtimes: new RuntimeRegistry([]),
      outDir: out,
      serverMetrics: false,
    });
    expect(result.status).toBe("complete");
    const m = result.results[0]!.metrics;
    expect(m.counts.ok).toBe(4);
    // The sim counts words, so its prompt tokens are the trace's input lengths exactly.
    expect(m.tokens.input).toBe(150 + 200 + 40 + 30);
    expect(m.tokens.output).toBe(4 + 6 + 2 + 3);
    expect(m.tokenMismatch.promptVsPlanned).toBe(0);
    const traces = [...readTraces(join(out, "requests.jsonl"))].sort((a, b) => a.index - b.index);
    const rel = traces.map((t) => t.scheduledMs - traces[0]!.scheduledMs);
    // (t − 1000 ms) / 4, to the microsecond the trace file keeps.
    for (const [i, want] of [0, 125, 500, 500].entries()) expect(rel[i]).toBeCloseTo(want, 2);
  }, 60_000);
});

describe("trace config", () => {
  const problems = (trace: unknown, extra: Record<string, unknown> = {}) => {
    try {
      configFromObject(
        { model: "m", runtimes: ["r"], workloads: [{ name: "w", trace, ...extra }] },
        { baseDir: dir },
      );
    } catch (err) {
      return (err as { problems: { path: string; message: string }[] }).problems;
    }
    throw new Error("accepted");
  };

  it("names the field of every problem", () => {
    expect(problems({ path: "t.jsonl", speedup: 0 })).toEqual([
      { path: "workloads[0].trace.speedup", message: expect.stringContaining("a number > 0") },
    ]);
    expect(problems({ path: "missing.jsonl" })[0]).toMatchObject({
      path: "workloads[0].trace.path",
      message: expect.stringContaining("file not found"),
    });
    expect(problems({ path: "t.jsonl", format: "csv" })[0]!.path).toBe("workloads[0].trace.format");
    expect(problems({ path: "t.jsonl" }, { qps: 2, prompt_len: 8 }).map((p) => p.path)).toEqual([
      "workloads[0].qps",
      "workloads[0].prompt_len",
    ]);
    writeFileSync(join(dir, "bad.jsonl"), '{"timestamp": 1, "input_length": 2}\n');
    expect(problems({ path: "bad.jsonl" })[0]).toMatchObject({
      path: "workloads[0].trace.path",
      message: expect.stringContaining("line 1: output_length must be an integer ≥ 1"),
    });
    // Without a trace, the lengths are required.
    expect(problems(undefined, { qps: 1 }).map((p) => p.path)).toEqual([
      "workloads[0].prompt_len",
      "workloads[0].gen_tokens",
    ]);
  });

  it("loads the example config with its synthetic trace", async () => {
    const { loadConfig } = await import("../../src/bench/config.js");
    const w = loadConfig(new URL("../../configs/trace-replay.yaml", import.meta.url).pathname).workloads[0]!;
    expect(w.trace).toMatchObject({ format: "mooncake", speedup: 2, blockTokens: 64 });
    expect(w.numRequests).toBe(24);
    const plan = buildPlan(w, "m", uncalibrated());
    // Requests sharing hash ids [1, 2, …] share their first 128 words.
    const shared = [...Array(plan.count).keys()].filter((i) => plan.promptTokens(i, false) > 128);
    const a = words(plan.body(shared[0]!, false));
    const b = words(plan.body(shared[1]!, false));
    expect(a.slice(0, 128)).toEqual(b.slice(0, 128));
  });
});
