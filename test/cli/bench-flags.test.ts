/**
 * `tokenforge bench` with `vllm bench serve`'s flags: how they lay over a config file's values
 * (flags win, every workload takes them, a bad combination names the flag), and a real run with
 * no config at all against the simulated server, whose result records the flags and the config
 * they made.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configFromObject } from "../../src/bench/config.js";
import type { BenchResult } from "../../src/bench/run.js";
import { ATTACHED_RUNTIME, overlay } from "../../src/cli/bench-flags.js";
import { runCli } from "../helpers/cli.js";
import { type SimChild, startSimChild } from "../helpers/sim.js";

const file = {
  model: "m",
  runtimes: ["llamacpp"],
  workloads: [
    { name: "a", concurrency: 4, duration_s: 30, prompt_len: 64, gen_tokens: 32 },
    { name: "b", qps: 2, num_requests: 30, prompt_len: 128, gen_tokens: 16, endpoint: "chat" },
  ],
};

describe("flags laid over a config", () => {
  it("changes nothing without flags", () => {
    expect(overlay(file, {})).toEqual(file);
  });

  it("puts every workload flag on every workload, flags winning, and leaves the file untouched", () => {
    const before = structuredClone(file);
    const raw = overlay(file, {
      requestRate: 10,
      burstiness: 0.5,
      maxConcurrency: 8,
      numPrompts: 200,
      randomInputLen: 1000,
      randomOutputLen: 100,
      randomRangeRatio: 0.1,
      endpoint: "completions",
    });
    expect(file).toEqual(before);
    for (const name of ["a", "b"]) {
      expect((raw.workloads as object[]).find((w) => (w as { name: string }).name === name)).toEqual({
        name,
        qps: 10,
        arrival: { gamma: { burstiness: 0.5 } },
        max_concurrency: 8,
        num_requests: 200,
        prompt_len: { uniform: [900, 1100] },
        gen_tokens: { uniform: [90, 110] },
        endpoint: "completions",
      });
    }
    // What it makes is a valid config, normalized like a file's.
    const config = configFromObject(raw);
    expect(config.workloads[0]).toMatchObject({
      qps: 10,
      numRequests: 200,
      maxConcurrency: 8,
      arrival: { kind: "gamma", burstiness: 0.5 },
      promptLen: { kind: "uniform", min: 900, max: 1100 },
    });
    expect(config.workloads[0]!.concurrency).toBeUndefined();
    expect(config.workloads[0]!.durationS).toBeUndefined();
  });

  it("reads --request-rate inf as all at once and --burstiness 1 as Poisson, as vLLM does", () => {
    const raw = overlay(file, { requestRate: "inf", burstiness: 1, numPrompts: 50 });
    const config = configFromObject(raw);
    expect(config.workloads.map((w) => [w.qps, w.concurrency, w.arrival.kind])).toEqual([
      [undefined, undefined, "poisson"],
      [undefined, undefined, "poisson"],
    ]);
  });

  it("attaches --base-url as the file's runtime when the file attaches it, else as openai", () => {
    expect(overlay(file, { baseUrl: "http://h:8000" })).toMatchObject({
      runtimes: [ATTACHED_RUNTIME],
      targets: { [ATTACHED_RUNTIME]: "http://h:8000" },
    });
    const attached = { ...file, runtimes: ["vllm"], targets: { vllm: "http://old:1" } };
    expect(overlay(attached, { baseUrl: "http://new:2", apiKeyEnv: "MY_KEY" })).toMatchObject({
      runtimes: ["vllm"],
      targets: { vllm: { url: "http://new:2", api_key_env: "MY_KEY" } },
    });
    expect(overlay(file, { baseUrl: "http://h:8000", runtime: "vllm" })).toMatchObject({
      runtimes: ["vllm"],
      targets: { vllm: "http://h:8000" },
    });
  });

  it("refuses what it cannot mean, naming the flag", () => {
    expect(() => overlay({ ...file, runtimes: ["a", "b"] }, { baseUrl: "http://h:1" })).toThrow(
      expect.objectContaining({
        field: "base-url",
        message: expect.stringMatching(/choose one with --runtime/),
      }),
    );
    expect(() => overlay(file, { apiKeyEnv: "K" })).toThrow(
      expect.objectContaining({ field: "api-key-env" }),
    );
  });
});

describe("tokenforge bench with vLLM's flags and no config", () => {
  let sim: SimChild;
  const dir = mkdtempSync(join(tmpdir(), "tokenforge-bench-flags-"));
  beforeAll(async () => {
    sim = await startSimChild({ noGroundTruth: true });
  });
  afterAll(async () => {
    await sim?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs against --base-url and records the flags and the config they made", async () => {
    const out = join(dir, "run");
    const r = await runCli([
      "bench",
      "--base-url",
      sim.url,
      "--model",
      "sim",
      "--request-rate",
      "40",
      "--num-prompts",
      "12",
      "--random-input-len",
      "16",
      "--random-output-len",
      "4",
      "--max-concurrency",
      "3",
      "--endpoint",
      "/v1/chat/completions",
      "--seed",
      "7",
      "--out",
      out,
      "--quiet",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(readFileSync(join(out, "result.json"), "utf8")) as BenchResult;
    expect(result.config.targets).toEqual({ openai: sim.url });
    expect(result.config.model).toBe("sim");
    expect(result.config.workloads[0]).toMatchObject({
      qps: 40,
      numRequests: 12,
      maxConcurrency: 3,
      endpoint: "chat",
      promptLen: { kind: "fixed", value: 16 },
      genTokens: { kind: "fixed", value: 4 },
    });
    expect(result.seed).toBe(7);
    expect(result.invocation).toEqual({
      flags: {
        baseUrl: sim.url,
        model: "sim",
        requestRate: 40,
        numPrompts: 12,
        randomInputLen: 16,
        randomOutputLen: 4,
        maxConcurrency: 3,
        endpoint: "chat",
        seed: 7,
      },
    });
    expect(result.results[0]!.metrics.counts.ok).toBe(12);
  }, 120_000);

  it("lays flags over a config file: the flag wins, the file's other values stay, both recorded", async () => {
    const config = join(dir, "c.yaml");
    writeFileSync(
      config,
      `model: sim\nruntimes: [sim]\ntargets: {sim: "${sim.url}"}\nworkloads:\n  - {name: w, qps: 50, num_requests: 30, prompt_len: 8, gen_tokens: 2}\n`,
    );
    const out = join(dir, "run2");
    const r = await runCli(["bench", config, "--num-prompts", "5", "--out", out, "--quiet"]);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(readFileSync(join(out, "result.json"), "utf8")) as BenchResult;
    expect(result.config.workloads[0]).toMatchObject({ qps: 50, numRequests: 5 });
    expect(result.invocation?.flags).toEqual({ numPrompts: 5 });
    expect(
      (result.invocation!.file as { workloads: { num_requests: number }[] }).workloads[0]!.num_requests,
    ).toBe(30);
    expect(result.results[0]!.metrics.counts.total).toBe(5);
  }, 120_000);
});
