/**
 * Calibration accepts nothing because it parsed: each `/tokenize` shape is checked on probes of
 * known length, a shape that fails is passed over (and the result says why), and when no shape
 * counts, the model's own tokenizer or the first-request check's usage counts instead, with the
 * method recorded.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FirstRequestCheck } from "../../src/bench/first-request.js";
import { uncalibrated } from "../../src/bench/prompts.js";
import { calibrate, calibrateFromCheck } from "../../src/bench/run-prompts.js";
import type { TargetInfo } from "../../src/bench/targets.js";
import { type Counter, probeCounter } from "../../src/bench/token-counters.js";
import { type StandIn, startStandIn } from "../helpers/standins/openai-like.js";

const none = new Map<string, Record<string, string>>();
const target = (runtime: string, url: string): TargetInfo => ({ runtime, url, mode: "attached" });
const words = (text: string) => text.split(/\s+/).filter((w) => w !== "").length;

describe("probeCounter", () => {
  it("accepts counts that are positive and grow with the text", async () => {
    expect(await probeCounter(async (t) => words(t) + 1)).toBeUndefined();
    // Growth by more than one per word is calibration's question, not the probe's.
    expect(await probeCounter(async (t) => t.length)).toBeUndefined();
  });

  it("refuses an empty token list, no answer, and counts that do not grow, saying which", async () => {
    expect(await probeCounter(async () => 0)).toMatch(/a count of 0 for a 1-word probe/);
    expect(await probeCounter(async () => undefined)).toMatch(/no count for a 1-word probe/);
    expect(await probeCounter(async () => 3)).toMatch(
      /counts that do not grow with the text \(3, 3 for 1, 8, 16 words\)/,
    );
    const negative: Counter = async () => -1;
    expect(await probeCounter(negative)).toMatch(/a count of -1/);
  });
});

describe("calibrate against servers' /tokenize dialects", () => {
  const servers: StandIn[] = [];
  const start = async (o: Parameters<typeof startStandIn>[0]) => {
    const s = await startStandIn(o);
    servers.push(s);
    return s;
  };
  let llama: StandIn;
  let tgi: StandIn;
  let bare: StandIn;
  beforeAll(async () => {
    llama = await start({
      name: "llama-server quirk",
      model: "m",
      tokenize: "llama.cpp",
      ignoreEos: "honoured",
    });
    tgi = await start({ name: "tgi", model: "m", tokenize: "tgi", ignoreEos: "ignored", checksModel: false });
    bare = await start({ name: "bare", model: "m", tokenize: "none", ignoreEos: "ignored", chatOverhead: 9 });
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  it("passes over vLLM's shape where a llama.cpp server answers it with 200 and no tokens", async () => {
    const cal = await calibrate([target("llama", llama.url)], "m", "completions", none);
    expect(cal).toMatchObject({
      source: "server-tokenize",
      tokenize: "llama.cpp",
      runtime: "llama",
      overhead: 1,
    });
    expect(cal.tried).toEqual([
      expect.stringMatching(/^llama's \/tokenize in vllm's shape: a count of 0 for a 1-word probe/),
    ]);
    expect(cal.detail).toMatch(/llama's \/tokenize in llama\.cpp's shape/);
  });

  it("speaks TGI's {inputs} dialect, after the two that TGI refuses", async () => {
    const cal = await calibrate([target("tgi", tgi.url)], "m", "completions", none);
    expect(cal).toMatchObject({ source: "server-tokenize", tokenize: "tgi", overhead: 1 });
    expect(cal.tried).toHaveLength(2);
  });

  it("tries the next target before giving up on /tokenize", async () => {
    const cal = await calibrate([target("bare", bare.url), target("tgi", tgi.url)], "m", "completions", none);
    expect(cal).toMatchObject({ source: "server-tokenize", tokenize: "tgi", runtime: "tgi" });
  });

  it("falls back to the synthetic model's own tokenizer, with the method recorded", async () => {
    const local = await calibrate([target("bare", bare.url)], "synthetic:tiny", "completions", none);
    expect(local.source).toBe("local-tokenizer");
    expect(local.tried).toContainEqual(expect.stringMatching(/bare's \/tokenize in vllm's shape: no count/));
    // Nothing but /tokenize was asked: no generation request before the first-request check.
    expect(bare.requests).toBe(0);
  });

  it("assumes one token per word, and says so, when nothing can count", async () => {
    const cal = await calibrate([target("gone", "http://127.0.0.1:9")], "m", "completions", none);
    expect(cal.source).toBe("assumed");
    expect(cal.overhead).toBe(0);
    expect(cal.detail).toMatch(/^assumed: nothing could count tokens/);
    expect(cal.tried).toEqual([
      expect.stringMatching(/^gone's \/tokenize in vllm's shape: no count/),
      expect.stringMatching(/^gone's \/tokenize in llama\.cpp's shape: no count/),
      expect.stringMatching(/^gone's \/tokenize in tgi's shape: no count/),
    ]);
  });
});

describe("calibrateFromCheck", () => {
  const check = (over: Partial<FirstRequestCheck>): FirstRequestCheck => ({
    runtime: "api",
    url: "http://h",
    workload: "w",
    outcome: "ok",
    promptTokens: 40,
    maxTokens: 8,
    ...over,
  });

  it("takes the overhead from the check's usage where nothing counted beforehand", () => {
    const cal = calibrateFromCheck(
      uncalibrated(["x: no count"]),
      check({ usage: { promptTokens: 47, completionTokens: 8 } }),
    );
    expect(cal).toMatchObject({
      source: "server-usage",
      overhead: 7,
      runtime: "api",
      tried: ["x: no count"],
    });
    expect(cal!.detail).toMatch(
      /^server-usage: 7 tokens of overhead per prompt, from api's usage\.prompt_tokens/,
    );
  });

  it("leaves a calibration that counted alone, and refuses counts that are not words plus an overhead", () => {
    const counted = { ...uncalibrated(), source: "server-tokenize" as const };
    expect(
      calibrateFromCheck(counted, check({ usage: { promptTokens: 47, completionTokens: 8 } })),
    ).toBeUndefined();
    const fewer = uncalibrated();
    expect(
      calibrateFromCheck(fewer, check({ usage: { promptTokens: 30, completionTokens: 8 } })),
    ).toBeUndefined();
    expect(fewer.tried).toEqual([
      expect.stringMatching(/30 tokens for a prompt of 40 words, not one token per word/),
    ]);
    const silent = uncalibrated();
    expect(calibrateFromCheck(silent, check({}))).toBeUndefined();
    expect(silent.tried).toEqual([expect.stringMatching(/the check reported no usage/)]);
  });
});
