/**
 * How the llama.cpp engine batches: N concurrent generations on the real engine (synthetic:tiny,
 * in this process) are decoded N at a time, read from the engine's own record of its decode steps.
 * No speed is asserted. It also says which llama.cpp build it loaded.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveModel } from "../../src/models/resolve.js";
import { createLlamaCppEngine } from "../../src/runtimes/llamacpp/engine.js";
import type { Engine, GenerateRequest } from "../../src/spec/engine.js";
import { TEST_CACHE_DIR } from "../helpers/worker.js";

const PARALLEL = 8;
let engine: Engine;

beforeAll(async () => {
  const model = await resolveModel("synthetic:tiny", { cacheDir: TEST_CACHE_DIR });
  engine = await createLlamaCppEngine({
    model,
    parallel: PARALLEL,
    contextLength: 512,
    threads: 1,
    batchSize: undefined,
    gpu: false,
  });
});

afterAll(async () => {
  await engine?.close();
});

function request(text: string, maxTokens: number, seed: number): GenerateRequest {
  return {
    prompt: { kind: "text", text },
    maxTokens,
    temperature: 1,
    topP: 1,
    seed,
    stop: [],
    ignoreEos: true,
    signal: new AbortController().signal,
  };
}

/** Runs one generation to its end: its text and generated-token count. */
async function generate(req: GenerateRequest): Promise<{ text: string; tokens: number }> {
  let text = "";
  let tokens = 0;
  for await (const ev of engine.generate(req)) {
    if (ev.type === "text") text += ev.text;
    if (ev.type === "finish") tokens = ev.usage.completionTokens;
  }
  return { text, tokens };
}

/** Decode steps taken while `run` ran, by sequences per step. */
async function stepsDuring(run: () => Promise<unknown>): Promise<Map<number, number>> {
  const before = engine.stats().decodeSteps ?? {};
  await run();
  const after = engine.stats().decodeSteps ?? {};
  const steps = new Map<number, number>();
  for (const [n, count] of Object.entries(after)) {
    const d = count - (before[Number(n)] ?? 0);
    if (d > 0) steps.set(Number(n), d);
  }
  return steps;
}

describe("llama.cpp engine: decode steps", () => {
  for (const n of [4, PARALLEL]) {
    it(`decodes ${n} concurrent generations in the same step, every step`, async () => {
      const tokens = 48;
      const steps = await stepsDuring(() =>
        Promise.all(
          Array.from({ length: n }, (_, i) => generate(request(`Stream ${i} starts here.`, tokens, i))),
        ),
      );
      const record = JSON.stringify(Object.fromEntries(steps));
      // Each generation's prompt is one step (all n arrive together) and each token after the first
      // is another: tokens − 1 steps of n once every prompt is in, give or take the step in which a
      // prompt that arrived late catches up.
      expect(steps.get(n) ?? 0, record).toBeGreaterThanOrEqual(tokens - 3);
      const total = [...steps.values()].reduce((a, c) => a + c, 0);
      expect(total, record).toBeLessThanOrEqual(tokens + 3);
      const sequenceSteps = [...steps].reduce((a, [size, c]) => a + size * c, 0);
      expect(sequenceSteps, record).toBe(n * tokens);
    });
  }

  it("decodes a request that joins running generations in their steps from its first token on", async () => {
    const early = Array.from({ length: 3 }, (_, i) => generate(request(`Early ${i}.`, 64, i)));
    // Let the first three decode a while, then add a fourth.
    await new Promise((r) => setTimeout(r, 50));
    const steps = await stepsDuring(() => Promise.all([...early, generate(request("Late.", 16, 9))]));
    // The late one's 15 decode steps are steps of four.
    expect(steps.get(4) ?? 0, JSON.stringify(Object.fromEntries(steps))).toBeGreaterThanOrEqual(15);
  });

  it("clears a sequence between requests: the same seed gives the same text on a reused sequence", async () => {
    const first = await generate(request("Once upon a time", 24, 7));
    // Another request in between leaves its tokens in a sequence too.
    await generate(request("Something else entirely", 24, 8));
    const again = await generate(request("Once upon a time", 24, 7));
    expect(first.tokens).toBe(24);
    expect(again.text).toBe(first.text);
  });
});

describe("llama.cpp engine: which build", () => {
  it("says which llama.cpp build it loaded, in its details and its version string", () => {
    const binary = engine.info.details.binary;
    // auto: the build for this CPU when `tokenforge llamacpp build` made one, else the prebuilt one.
    expect(["native", "prebuilt"]).toContain(binary);
    expect(engine.info.engineVersion).toContain(binary === "native" ? "built for this CPU" : "prebuilt");
  });
});
