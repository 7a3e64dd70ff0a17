/**
 * `tokenforge bench` end to end: config errors and unreachable targets through the real CLI entry
 * (for its exit codes), result files through the command in-process against simulated servers,
 * and one default run on the real llama.cpp worker.
 */

import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { type BenchResult, RESULT_SCHEMA } from "../../src/bench/run.js";
import type { RequestTrace } from "../../src/bench/types.js";
import { registerBenchCommand } from "../../src/cli/bench.js";
import { readEnv } from "../../src/config.js";
import { llamaCppRuntime } from "../../src/runtimes/llamacpp/index.js";
import { RuntimeRegistry } from "../../src/runtimes/registry.js";
import { runCli } from "../helpers/cli.js";
import { type SimChild, startSimChild } from "../helpers/sim.js";
import { waitFor } from "../helpers/wait-for.js";
import { TEST_CACHE_DIR } from "../helpers/worker.js";

const ROOT = join(import.meta.dirname, "..", "..");
const CLI = join(ROOT, "src", "cli", "tokenforge.ts");

const dir = mkdtempSync(join(tmpdir(), "tokenforge-bench-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  process.exitCode = undefined;
});

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** Runs the real CLI, its results under this test's directory. */
const cli = (args: string[], env: Record<string, string> = {}) =>
  runCli(args, { TOKENFORGE_RESULTS_DIR: join(dir, "results"), ...env });

/** Runs `tokenforge bench ...` in this process, with the command's own registration. */
async function benchInProcess(
  args: string[],
): Promise<{ stdout: string; stderr: string; exitCode: unknown }> {
  const program = new Command("tokenforge").exitOverride();
  const self = { command: process.execPath, args: ["--import", "tsx", CLI] };
  registerBenchCommand(
    program,
    {
      ...readEnv({}),
      modelCacheDir: TEST_CACHE_DIR,
      threads: undefined,
      resultsDir: join(dir, "results"),
      databaseUrl: undefined,
      dataDir: join(dir, "data"),
    },
    new RuntimeRegistry([llamaCppRuntime(self)]),
  );
  let stdout = "";
  let stderr = "";
  const out = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  try {
    await program.parseAsync(["node", "tokenforge", "bench", ...args]);
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  return { stdout, stderr, exitCode: process.exitCode };
}

interface TraceLine extends RequestTrace {
  workload: string;
  runtime: string;
}

const readLines = (path: string): TraceLine[] =>
  readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as TraceLine);

let simA: SimChild;
let simB: SimChild;
beforeAll(async () => {
  [simA, simB] = await Promise.all([
    startSimChild({ ttftMs: 2, itlMs: 1 }),
    startSimChild({ ttftMs: 3, itlMs: 1, tokensPerChunk: 2 }),
  ]);
});
afterAll(async () => {
  await Promise.all([simA?.stop(), simB?.stop()]);
});

describe("tokenforge bench: refusing before anything is sent", () => {
  it("lists every problem of an invalid config with its path, exits 2 and writes nothing", async () => {
    const config = file(
      "invalid.yaml",
      `model: sim
runtimes: [a]
targets: {a: "${simA.url}"}
workloads:
  - name: first
    qps: -1
    prompt_len: 0
    gen_tokens: 8
    bogus: 1
  - name: first
    concurrency: 2
    qps: 3
    prompt_len: 8
    gen_tokens: {uniform: [9, 2]}
`,
    );
    const out = join(dir, "invalid-out");
    const r = await cli(["bench", config, "--out", out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("invalid benchmark config");
    expect(r.stderr).toContain("(6 problems)");
    for (const path of [
      "workloads[0].bogus",
      "workloads[0].qps",
      "workloads[0].prompt_len",
      "workloads[1].name",
      "workloads[1].concurrency",
      "workloads[1].gen_tokens.uniform",
    ]) {
      expect(r.stderr).toMatch(new RegExp(`^ {2}- ${path.replace(/[.[\]]/g, "\\$&")}: `, "m"));
    }
    expect(r.stdout).toBe("");
    expect(existsSync(out)).toBe(false);
    expect(await simA.requests()).toBe(0);
  });

  it("fails on an unreachable target before sending to any, naming the runtime and URL", async () => {
    const config = file(
      "unreachable.yaml",
      `model: sim
runtimes: [a, x]
targets:
  a: "${simA.url}"
  x: "http://127.0.0.1:1"
workloads:
  - {name: w, qps: 10, num_requests: 5, prompt_len: 8, gen_tokens: 2}
`,
    );
    const out = join(dir, "unreachable-out");
    const r = await cli(["bench", config, "--out", out, "--quiet"]);
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    expect(r.stderr).toMatch(/runtime x at http:\/\/127\.0\.0\.1:1 is not reachable/);
    expect(await simA.requests()).toBe(0);
    if (existsSync(out)) {
      expect(readFileSync(join(out, "requests.jsonl"), "utf8")).toBe("");
      expect(existsSync(join(out, "result.json"))).toBe(false);
    }
  });

  it("refuses an unknown runtime for the default run", async () => {
    const r = await cli(["bench", "--runtime", "nope", "--out", join(dir, "nope")]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/nope/);
    expect(existsSync(join(dir, "nope"))).toBe(false);
  });

  it("asks for a target for a runtime it cannot start (the original config format), exit 2", async () => {
    const config = file(
      "original.yaml",
      `model: meta-llama/Llama-3-8b-instruct
runtimes: [vllm, transformers]
workloads:
  - name: qa-short
    qps: 5
    duration_s: 180
    prompt_len: 256
    gen_tokens: 128
`,
    );
    const r = await cli(["bench", config, "--out", join(dir, "original")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("targets.vllm");
    expect(r.stderr).toContain("set targets.vllm to the URL of a running server");
    expect(existsSync(join(dir, "original"))).toBe(false);
  });
});

describe("tokenforge bench against simulated servers", () => {
  const out = join(dir, "sims");
  let result: BenchResult;
  let stdout: string;
  let lines: TraceLine[];

  beforeAll(async () => {
    await Promise.all([simA.clearGroundTruth(), simB.clearGroundTruth()]);
    const config = file(
      "sims.yaml",
      `model: sim
seed: 11
runtimes: [a, b]
targets:
  a: "${simA.url}/v1"
  b: "${simB.url}"
workloads:
  - name: cmpl
    qps: 80
    num_requests: 40
    warmup: 3
    prompt_len: {uniform: [8, 64]}
    gen_tokens: {uniform: [2, 9]}
    slo: {ttft_ms: 1000}
  - name: chat
    concurrency: 3
    num_requests: 12
    endpoint: chat
    prompt_len: 20
    gen_tokens: 4
`,
    );
    const r = await benchInProcess([config, "--out", out, "--json", "--quiet"]);
    stdout = r.stdout;
    expect(r.exitCode).toBeUndefined();
    expect(r.stderr).toBe("");
    result = JSON.parse(stdout) as BenchResult;
    lines = readLines(join(out, "requests.jsonl"));
  });

  it("prints the result as JSON on stdout, the same as result.json", () => {
    const onDisk = JSON.parse(readFileSync(join(out, "result.json"), "utf8")) as BenchResult;
    expect(onDisk).toEqual(result);
  });

  it("writes result.json with schema, config, seed, environment and one result per workload × runtime", () => {
    expect(result.schema).toBe(RESULT_SCHEMA);
    expect(result.schema).toBe("tokenforge.bench.result/v1");
    expect(result.status).toBe("complete");
    expect(result.seed).toBe(11);
    expect(result.config.seed).toBe(11);
    expect(result.config.model).toBe("sim");
    expect(result.config.targets).toEqual({ a: simA.url, b: simB.url });
    expect(result.config.workloads.map((w) => w.name)).toEqual(["cmpl", "chat"]);
    expect(result.configFile).toBe(join(dir, "sims.yaml"));
    expect(result.environment).toMatchObject({
      tokenforge: expect.any(String),
      node: process.version,
      undici: expect.stringMatching(/^\d+\.\d+\.\d+/),
      platform: process.platform,
      arch: process.arch,
      cpuCount: expect.any(Number),
      memoryBytes: expect.any(Number),
    });
    expect(new Date(result.finishedAt).getTime()).toBeGreaterThanOrEqual(
      new Date(result.startedAt).getTime(),
    );
    expect(result.targets.map((t) => [t.runtime, t.mode])).toEqual([
      ["a", "attached"],
      ["b", "attached"],
    ]);
    expect(result.targets[0]!.health).toEqual({ http_status: 200, status: "ok" });
    expect(result.calibration).toMatchObject({ source: "server-tokenize", overhead: 0 });
    expect(result.results.map((r) => [r.workload, r.runtime])).toEqual([
      ["cmpl", "a"],
      ["cmpl", "b"],
      ["chat", "a"],
      ["chat", "b"],
    ]);
    for (const r of result.results) {
      const n = r.workload === "cmpl" ? 40 : 12;
      expect(r.metrics.counts).toEqual({ total: n, ok: n, errored: 0, incomplete: 0 });
      expect(r.metrics.warmupRequests).toBe(r.workload === "cmpl" ? 3 : 0);
      expect(r.metrics.tokenMismatch.promptVsPlanned).toBe(0);
      expect(r.metrics.tokenMismatch.completionVsRequested).toBe(0);
      expect(r.run.sent).toBe(n);
    }
    const cmplB = result.results[1]!.metrics;
    expect(cmplB.tokensPerChunk).toBeGreaterThan(1);
    expect(result.results[0]!.metrics.goodput?.met).toBe(40);
    expect(result.results[0]!.metrics.offeredQps).toBeGreaterThan(0);
    expect(result.results[2]!.metrics.peakConcurrency).toBeLessThanOrEqual(3);
  });

  it("writes requests.jsonl: one line per request, warmup marked", () => {
    expect(lines).toHaveLength(2 * (40 + 3 + 12));
    const count = (workload: string, runtime: string, warmup: boolean) =>
      lines.filter((l) => l.workload === workload && l.runtime === runtime && l.warmup === warmup).length;
    for (const runtime of ["a", "b"]) {
      expect(count("cmpl", runtime, true)).toBe(3);
      expect(count("cmpl", runtime, false)).toBe(40);
      expect(count("chat", runtime, false)).toBe(12);
      expect(count("chat", runtime, true)).toBe(0);
    }
    for (const l of lines) {
      expect(l.outcome).toBe("ok");
      expect(l.status).toBe(200);
      expect(l.chunkMs.length).toBeGreaterThan(0);
      expect(l.usage?.promptTokens).toBe(l.promptTokens);
    }
  });

  it("writes each result in vLLM's bench serve layout", () => {
    expect(result.files.vllm.sort()).toEqual(
      ["vllm/chat.a.json", "vllm/chat.b.json", "vllm/cmpl.a.json", "vllm/cmpl.b.json"].sort(),
    );
    expect(readdirSync(join(out, "vllm")).sort()).toEqual(
      ["chat.a.json", "chat.b.json", "cmpl.a.json", "cmpl.b.json"].sort(),
    );
    const v = JSON.parse(readFileSync(join(out, "vllm", "cmpl.a.json"), "utf8")) as Record<string, unknown>;
    for (const key of [
      "request_throughput",
      "output_throughput",
      "total_token_throughput",
      "mean_ttft_ms",
      "median_ttft_ms",
      "p99_ttft_ms",
      "mean_tpot_ms",
      "mean_itl_ms",
      "mean_e2el_ms",
      "completed",
      "total_input_tokens",
      "total_output_tokens",
    ]) {
      expect(v, key).toHaveProperty(key);
    }
    // Per-request arrays only with --vllm-detailed (vLLM's --save-detailed).
    expect(v).not.toHaveProperty("input_lens");
    expect(v).not.toHaveProperty("ttfts");
    const m = result.results[0]!.metrics;
    expect(v.completed).toBe(40);
    expect(v.num_prompts).toBe(40);
    expect(v.request_rate).toBe(80);
    expect(v.request_throughput).toBeCloseTo(m.requestThroughput!, 9);
    expect(v.mean_ttft_ms).toBeCloseTo(m.ttftMs!.mean, 9);
    expect(v.total_output_tokens).toBe(m.tokens.output);
  });

  it("gives every runtime the same prompts and the same schedule", async () => {
    for (const workload of ["cmpl", "chat"]) {
      const of = (runtime: string) =>
        lines
          .filter((l) => l.workload === workload && l.runtime === runtime && !l.warmup)
          .sort((x, y) => x.index - y.index);
      const a = of("a");
      const b = of("b");
      expect(a.map((t) => t.index)).toEqual(b.map((t) => t.index));
      expect(a.map((t) => [t.promptTokens, t.maxTokens])).toEqual(
        b.map((t) => [t.promptTokens, t.maxTokens]),
      );
      if (workload === "cmpl") {
        // Each run starts its schedule at its own time: offsets from the first request agree
        // (to the 1 µs the trace file keeps).
        for (let i = 1; i < a.length; i++) {
          const da = a[i]!.scheduledMs - a[0]!.scheduledMs;
          const db = b[i]!.scheduledMs - b[0]!.scheduledMs;
          expect(Math.abs(da - db), `request ${i}`).toBeLessThanOrEqual(0.0025);
        }
        expect(new Set(a.map((t) => t.promptTokens)).size).toBeGreaterThan(10);
      }
    }
    // What each server counted of the prompts it got, by request index, agrees too.
    const served = async (sim: SimChild, runtime: string) => {
      const map = new Map<string, number>();
      for (const g of await sim.groundTruth()) map.set(g.id.replace(`-${runtime}-`, "-"), g.promptTokens);
      return map;
    };
    const ga = await served(simA, "a");
    const gb = await served(simB, "b");
    // Every measured and warmup request, and the first-request check (cmpl's shape).
    expect(ga.size).toBe(40 + 3 + 12 + 1);
    expect(ga.has("cmpl-check")).toBe(true);
    expect(gb).toEqual(ga);
  });
});

describe("tokenforge bench interrupted with Ctrl-C", () => {
  it("ends requests in flight as incomplete, writes the files marked incomplete and exits 130", async () => {
    const slow = await startSimChild({ ttftMs: 20, itlMs: 20 });
    try {
      const config = file(
        "slow.yaml",
        `model: sim
runtimes: [slow]
targets: { slow: "${slow.url}" }
workloads:
  - name: long
    qps: 20
    num_requests: 200
    prompt_len: 16
    gen_tokens: 50
`,
      );
      const out = join(dir, "interrupted");
      const child = spawn(process.execPath, ["--import", "tsx", CLI, "bench", config, "--out", out], {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.setEncoding("utf8").on("data", (d: string) => {
        stdout += d;
      });
      child.stderr.setEncoding("utf8").on("data", (d: string) => {
        stderr += d;
      });
      // Interrupt once the measured phase has served a request and has more in flight.
      await waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`bench exited ${child.exitCode}: ${stderr}`);
          return (await slow.groundTruth()).some((g) => /^long-slow-\d+$/.test(g.id) && g.status === 200);
        },
        { what: "a measured request served", timeoutMs: 30_000, intervalMs: 50, detail: () => stderr },
      );
      child.kill("SIGINT");
      const code = await new Promise<number | null>((resolve) => child.once("close", resolve));

      expect(code).toBe(130);
      expect(stderr).toContain("interrupted");
      expect(stdout).toContain("partial results (incomplete)");
      const result = JSON.parse(readFileSync(join(out, "result.json"), "utf8")) as BenchResult;
      expect(result.status).toBe("incomplete");
      const m = result.results[0]!.metrics;
      expect(m.counts.incomplete).toBeGreaterThan(0);
      expect(m.counts.ok).toBeGreaterThan(0);
      expect(result.results[0]!.run.notSent).toBeGreaterThan(0);
      const traces = readLines(join(out, "requests.jsonl"));
      expect(traces.length).toBe(m.counts.total);
      expect(traces.filter((t) => t.outcome === "incomplete").length).toBe(m.counts.incomplete);
    } finally {
      await slow.stop();
    }
  });
});

describe("tokenforge bench on the real engine", () => {
  it("runs the default workload on a local llama.cpp worker with exact token counts", async () => {
    const out = join(dir, "default-run");
    const r = await cli(["bench", "--model", "synthetic:tiny", "--out", out, "--vllm-detailed"], {
      TOKENFORGE_MODEL_CACHE: TEST_CACHE_DIR,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("starting a local llamacpp worker for synthetic:tiny");
    expect(r.stderr).toContain("prompt calibration: server-tokenize");
    const table = r.stdout.split("\n");
    expect(table[0]).toMatch(/^workload\s+runtime\s+ok\/err/);
    expect(table.some((l) => /^default\b.*\bllamacpp\s+30\/0\b/.test(l))).toBe(true);
    expect(r.stdout).toContain(`results in ${out}`);

    const result = JSON.parse(readFileSync(join(out, "result.json"), "utf8")) as BenchResult;
    expect(result.status).toBe("complete");
    expect(result.targets).toHaveLength(1);
    expect(result.targets[0]).toMatchObject({ runtime: "llamacpp", mode: "local" });
    expect(result.calibration.source).toBe("server-tokenize");
    const w = result.config.workloads[0]!;
    expect(w.promptLen).toEqual({ kind: "fixed", value: 64 });
    expect(w.genTokens).toEqual({ kind: "fixed", value: 32 });
    const m = result.results[0]!.metrics;
    expect(m.counts).toEqual({ total: 30, ok: 30, errored: 0, incomplete: 0 });
    expect(m.warmupRequests).toBe(2);
    expect(m.tokenMismatch).toMatchObject({
      compared: 30,
      promptVsPlanned: 0,
      completionVsRequested: 0,
      plannedPromptTokens: 30 * 64,
      serverPromptTokens: 30 * 64,
      requestedCompletionTokens: 30 * 32,
      serverCompletionTokens: 30 * 32,
    });
    expect(m.tokens).toEqual({ input: 30 * 64, output: 30 * 32, usageMissing: 0 });
    for (const t of readLines(join(out, "requests.jsonl"))) {
      expect(t.usage).toEqual({ promptTokens: 64, completionTokens: 32 });
    }
    const v = JSON.parse(readFileSync(join(out, "vllm", "default.llamacpp.json"), "utf8")) as Record<
      string,
      unknown
    >;
    expect(v.input_lens).toEqual(new Array(30).fill(64));
    expect(v.output_lens).toEqual(new Array(30).fill(32));
    expect(v.ttfts).toHaveLength(30);
    expect(v.total_input_tokens).toBe(30 * 64);
  });
});
