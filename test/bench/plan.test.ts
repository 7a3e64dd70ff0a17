import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configFromObject, workloadOf } from "../../src/bench/config.js";
import {
  buildPlan,
  type DatasetPrompts,
  DEFAULT_MAX_THROUGHPUT_CONCURRENCY,
  loadDataset,
  type Plan,
} from "../../src/bench/plan.js";
import {
  type Calibration,
  type Counter,
  calibrateWithCounter,
  sharedPrefix,
  WORDS,
} from "../../src/bench/prompts.js";
import type { Workload } from "../../src/bench/types.js";
import { TokenForgeError } from "../../src/errors.js";

/** A tokenizer that counts whitespace-separated words plus one (a BOS token). */
const wordsPlusOne: Counter = async (text) => text.split(/\s+/).filter((w) => w !== "").length + 1;

let cal: Calibration;
beforeAll(async () => {
  cal = await calibrateWithCounter(wordsPlusOne, "local-tokenizer");
});

function workload(extra: Partial<Workload> = {}): Workload {
  return workloadOf({
    name: "w",
    qps: 10,
    numRequests: 200,
    promptLen: { kind: "uniform", min: 16, max: 64 },
    genTokens: { kind: "uniform", min: 4, max: 32 },
    seed: 42,
    ...extra,
  });
}

interface Body {
  model: string;
  prompt?: string;
  messages?: { role: string; content: string }[];
  max_tokens: number;
  stream: boolean;
  stream_options?: { include_usage: boolean };
  ignore_eos: boolean;
  temperature: number;
}

const body = (plan: Plan, i: number, warmup = false) => JSON.parse(plan.body(i, warmup)) as Body;
const promptOf = (plan: Plan, i: number, warmup = false): string => {
  const b = body(plan, i, warmup);
  return b.prompt ?? b.messages![0]!.content;
};
const words = (text: string) => text.split(/\s+/).filter((w) => w !== "");
const atMs = (plan: Plan): Float64Array => {
  if (plan.mode.kind !== "open") throw new Error(`expected an open loop, got ${plan.mode.kind}`);
  return plan.mode.atMs;
};

describe("calibration", () => {
  it("measures the counter's overhead and keeps every word", () => {
    expect(cal.overhead).toBe(1);
    expect(cal.words).toHaveLength(WORDS.length);
    expect(cal.source).toBe("local-tokenizer");
    expect(cal.detail).toContain("1 tokens of overhead");
  });

  it("drops words the counter splits, and refuses a tokenizer that is not one token per word", async () => {
    const splitsThe: Counter = async (text) =>
      words(text).reduce((n, w) => n + (w === "the" || w === "of" ? 2 : 1), 0) + 1;
    const c = await calibrateWithCounter(splitsThe, "server-tokenize");
    expect(c.words).not.toContain("the");
    expect(c.words).not.toContain("of");
    expect(c.words).toHaveLength(WORDS.length - 2);
    expect(c.overhead).toBe(1);
    expect(c.detail).toContain("2 dropped");

    const perChar: Counter = async (text) => text.length;
    await expect(calibrateWithCounter(perChar, "server-tokenize")).rejects.toThrow(/one token per word/);
  });
});

describe("buildPlan", () => {
  it("is identical for the same seed: bodies and schedule, byte for byte", () => {
    const a = buildPlan(workload(), "m", cal);
    const b = buildPlan(workload(), "m", cal);
    expect(a.count).toBe(200);
    expect(Buffer.from(atMs(a).buffer).equals(Buffer.from(atMs(b).buffer))).toBe(true);
    for (let i = 0; i < a.count; i++) {
      expect(b.body(i, false)).toBe(a.body(i, false));
      expect(b.promptTokens(i, false)).toBe(a.promptTokens(i, false));
      expect(b.maxTokens(i, false)).toBe(a.maxTokens(i, false));
    }
    // Bodies are pure functions of (seed, index): asking out of order gives the same bytes.
    expect(a.body(17, false)).toBe(b.body(17, false));
    expect(a.body(3, true)).toBe(b.body(3, true));
  });

  it("differs for another seed", () => {
    const a = buildPlan(workload(), "m", cal);
    const b = buildPlan(workload({ seed: 43 }), "m", cal);
    expect(Buffer.from(atMs(a).buffer).equals(Buffer.from(atMs(b).buffer))).toBe(false);
    let sameBodies = 0;
    let sameLengths = 0;
    for (let i = 0; i < a.count; i++) {
      if (a.body(i, false) === b.body(i, false)) sameBodies++;
      if (a.promptTokens(i, false) === b.promptTokens(i, false)) sameLengths++;
    }
    expect(sameBodies).toBe(0);
    // 49 possible lengths: a few coincide by chance, most do not.
    expect(sameLengths).toBeLessThan(a.count / 4);
  });

  it("writes OpenAI request bodies: model, prompt or messages, max_tokens, streaming with usage", () => {
    const plan = buildPlan(workload(), "org/model", cal);
    const b = body(plan, 0);
    expect(b).toEqual({
      model: "org/model",
      prompt: expect.any(String),
      max_tokens: plan.maxTokens(0, false),
      temperature: 0,
      ignore_eos: true,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chat = buildPlan(workload({ endpoint: "chat", stream: false }), "m", cal);
    const c = body(chat, 0);
    expect(c.messages).toEqual([{ role: "user", content: promptOf(plan, 0) }]);
    expect(c.prompt).toBeUndefined();
    expect(c.stream).toBe(false);
    expect(c.stream_options).toBeUndefined();
  });

  it("starts every prompt differently: the first 4 words are distinct across 1,000 requests", () => {
    const plan = buildPlan(workload({ numRequests: 1000, promptLen: { kind: "fixed", value: 8 } }), "m", cal);
    const starts = new Set<string>();
    for (let i = 0; i < plan.count; i++) starts.add(words(promptOf(plan, i)).slice(0, 4).join(" "));
    for (let i = 0; i < 50; i++)
      starts.add(
        words(promptOf(plan, i, true))
          .slice(0, 4)
          .join(" "),
      );
    expect(starts.size).toBe(1050);
  });

  it("gives warmup requests prompts of their own", () => {
    const plan = buildPlan(workload({ warmup: { requests: 5 } }), "m", cal);
    expect(plan.warmupRequests).toBe(5);
    for (let i = 0; i < 5; i++) expect(plan.body(i, true)).not.toBe(plan.body(i, false));
  });

  it("shares the prefix with about `ratio` of the requests, then still starts them differently", () => {
    const length = 12;
    const plan = buildPlan(
      workload({
        numRequests: 1000,
        prefix: { length, ratio: 0.5 },
        promptLen: { kind: "fixed", value: 40 },
      }),
      "m",
      cal,
    );
    const prefix = sharedPrefix(cal, length, 42).join(" ");
    let sharing = 0;
    const afterPrefix = new Set<string>();
    const starts = new Set<string>();
    for (let i = 0; i < plan.count; i++) {
      const w = words(promptOf(plan, i));
      expect(w).toHaveLength(39);
      if (w.slice(0, length).join(" ") === prefix) {
        sharing++;
        afterPrefix.add(w.slice(length, length + 4).join(" "));
      } else starts.add(w.slice(0, 4).join(" "));
    }
    // Binomial(1000, 0.5): ±60 is more than 3.7 standard deviations.
    expect(sharing).toBeGreaterThan(440);
    expect(sharing).toBeLessThan(560);
    expect(afterPrefix.size).toBe(sharing);
    expect(starts.size).toBe(1000 - sharing);
    // Ratio 0 and ratio 1.
    const none = buildPlan(workload({ prefix: { length, ratio: 0 } }), "m", cal);
    const all = buildPlan(workload({ prefix: { length, ratio: 1 } }), "m", cal);
    for (let i = 0; i < 100; i++) {
      expect(words(promptOf(none, i)).slice(0, length).join(" ")).not.toBe(prefix);
      expect(words(promptOf(all, i)).slice(0, length).join(" ")).toBe(prefix);
    }
  });

  it("plans prompts whose token count is exactly the planned one, overhead included", async () => {
    for (const endpoint of ["completions", "chat"] as const) {
      const plan = buildPlan(
        workload({
          endpoint,
          numRequests: 300,
          promptLen: { kind: "normal", mean: 200, stdev: 150, min: 2, max: 600 },
          prefix: { length: 2, ratio: 0.3 },
          warmup: { requests: 10 },
        }),
        "m",
        cal,
      );
      const lengths = new Set<number>();
      for (let i = 0; i < plan.count; i++) {
        const planned = plan.promptTokens(i, false);
        lengths.add(planned);
        expect(await wordsPlusOne(promptOf(plan, i)), `request ${i}`).toBe(planned);
      }
      for (let i = 0; i < 10; i++) {
        expect(await wordsPlusOne(promptOf(plan, i, true))).toBe(plan.promptTokens(i, true));
      }
      expect(lengths.size).toBeGreaterThan(100);
    }
  });

  it("keeps max_tokens in the body equal to the planned output length", () => {
    const plan = buildPlan(workload({ genTokens: { kind: "list", values: [1, 7, 128] } }), "m", cal);
    const seen = new Set<number>();
    for (let i = 0; i < plan.count; i++) {
      const n = plan.maxTokens(i, false);
      seen.add(n);
      expect(body(plan, i).max_tokens).toBe(n);
    }
    expect([...seen].sort((a, b) => a - b)).toEqual([1, 7, 128]);
  });

  it("schedules an open loop at the rate, from 0, never going back", () => {
    const plan = buildPlan(workload({ qps: 50, numRequests: 2000 }), "m", cal);
    const at = atMs(plan);
    expect(plan.mode).toMatchObject({ kind: "open", burst: false });
    expect(at).toHaveLength(2000);
    expect(at[0]).toBe(0);
    for (let i = 1; i < at.length; i++) expect(at[i]!).toBeGreaterThanOrEqual(at[i - 1]!);
    const rate = (at.length - 1) / (at[at.length - 1]! / 1000);
    expect(rate).toBeGreaterThan(50 * 0.9);
    expect(rate).toBeLessThan(50 * 1.1);
    const constant = atMs(buildPlan(workload({ qps: 50, arrival: { kind: "constant" } }), "m", cal));
    expect(constant[199]).toBeCloseTo(199 * 20, 9);
  });

  it("ends a duration-based schedule before the duration", () => {
    for (const arrival of [
      { kind: "poisson" },
      { kind: "constant" },
      { kind: "gamma", burstiness: 0.3 },
    ] as const) {
      const w = workload({ qps: 40, durationS: 30, arrival });
      delete w.numRequests;
      const plan = buildPlan(w, "m", cal);
      const at = atMs(plan);
      expect(plan.count).toBe(at.length);
      expect(at[at.length - 1]!).toBeLessThan(30_000);
      // The schedule fills the duration: the last arrival is within a few gaps of its end.
      expect(at[at.length - 1]!).toBeGreaterThan(arrival.kind === "gamma" ? 28_000 : 29_500);
      expect(at.length).toBeGreaterThan(1200 * 0.85);
      expect(at.length).toBeLessThan(1200 * 1.15);
    }
    const constant = workload({ qps: 40, durationS: 30, arrival: { kind: "constant" } });
    delete constant.numRequests;
    expect(buildPlan(constant, "m", cal).count).toBe(1200);
  });

  it("runs a closed loop with `concurrency`, for a count or a duration", () => {
    const counted = workload({ concurrency: 4, numRequests: 50 });
    delete counted.qps;
    const p = buildPlan(counted, "m", cal);
    expect(p.mode).toEqual({ kind: "closed", concurrency: 4 });
    expect(p.count).toBe(50);

    const timed = workload({ concurrency: 8, durationS: 12 });
    delete timed.qps;
    delete timed.numRequests;
    const q = buildPlan(timed, "m", cal);
    expect(q.mode).toEqual({ kind: "closed", concurrency: 8, durationMs: 12_000 });
    expect(q.count).toBe(Number.POSITIVE_INFINITY);
  });

  it("sends everything at once for maximum throughput, or keeps max_concurrency in flight for a duration", () => {
    const burst = workload({ numRequests: 64 });
    delete burst.qps;
    const b = buildPlan(burst, "m", cal);
    expect(b.mode).toMatchObject({ kind: "open", burst: true });
    expect([...atMs(b)]).toEqual(new Array(64).fill(0));

    const timed = workload({ durationS: 5, maxConcurrency: 16 });
    delete timed.qps;
    delete timed.numRequests;
    expect(buildPlan(timed, "m", cal).mode).toEqual({ kind: "closed", concurrency: 16, durationMs: 5000 });
    const unbounded = workload({ durationS: 5 });
    delete unbounded.qps;
    delete unbounded.numRequests;
    expect(buildPlan(unbounded, "m", cal).mode).toEqual({
      kind: "closed",
      concurrency: DEFAULT_MAX_THROUGHPUT_CONCURRENCY,
      durationMs: 5000,
    });
  });

  it("normalizes qps: inf from a config file into a maximum-throughput plan", () => {
    const config = configFromObject({
      model: "m",
      runtimes: ["x"],
      workloads: [{ name: "max", qps: "inf", num_requests: 10, prompt_len: 8, gen_tokens: 2 }],
    });
    const plan = buildPlan(config.workloads[0]!, config.model, cal);
    expect(plan.mode).toMatchObject({ kind: "open", burst: true });
    expect(plan.count).toBe(10);
  });
});

describe("datasets", () => {
  const dir = mkdtempSync(join(tmpdir(), "tokenforge-plan-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it("loads the first human turn of each ShareGPT conversation", () => {
    const path = file(
      "share.json",
      JSON.stringify([
        {
          id: "a",
          conversations: [
            { from: "human", value: "first question" },
            { from: "gpt", value: "answer" },
          ],
        },
        {
          id: "b",
          conversations: [
            { from: "system", value: "be nice" },
            { from: "user", value: "second one" },
          ],
        },
        { id: "c", conversations: [{ from: "gpt", value: "no human turn" }] },
        { id: "d", conversations: [{ from: "human", value: "" }] },
        { id: "e" },
        { id: "f", conversations: [{ from: "human", value: 'third "quoted"\nline' }] },
      ]),
    );
    expect(loadDataset({ kind: "sharegpt", path })).toEqual([
      "first question",
      "second one",
      'third "quoted"\nline',
    ]);
  });

  it("loads a JSONL field (or bare strings), skipping blank lines, CRLF included", () => {
    const path = file("rows.jsonl", '{"prompt":"one","x":1}\r\n\n"two"\r\n{"prompt":"three"}\n');
    expect(loadDataset({ kind: "jsonl", path, field: "prompt" })).toEqual(["one", "two", "three"]);
    const other = file("text.jsonl", '{"text":"alpha"}\n{"text":"beta"}');
    expect(loadDataset({ kind: "jsonl", path: other, field: "text" })).toEqual(["alpha", "beta"]);
  });

  const errorOf = (fn: () => unknown): TokenForgeError => {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(TokenForgeError);
      return err as TokenForgeError;
    }
    throw new Error("no error thrown");
  };

  it("names the file (and the line) of every problem", () => {
    const notJson = file("bad.json", "[{");
    expect(errorOf(() => loadDataset({ kind: "sharegpt", path: notJson })).message).toMatch(
      new RegExp(`^${escapeRegExp(notJson)} is not JSON`),
    );
    const notArray = file("obj.json", '{"conversations":[]}');
    expect(errorOf(() => loadDataset({ kind: "sharegpt", path: notArray })).message).toContain(
      `${notArray}: a ShareGPT file is a JSON array`,
    );
    const empty = file("empty.json", "[]");
    expect(errorOf(() => loadDataset({ kind: "sharegpt", path: empty })).message).toBe(
      `${empty} holds no prompts`,
    );

    const badLine = file("bad.jsonl", '{"prompt":"ok"}\n\n{"prompt": nope}\n');
    const e1 = errorOf(() => loadDataset({ kind: "jsonl", path: badLine, field: "prompt" }));
    expect(e1.message).toBe(`${badLine}:3 is not a JSON line`);
    expect(e1.field).toBe("dataset.jsonl");
    const noField = file("nofield.jsonl", '{"prompt":"ok"}\n{"question":"what"}\n');
    expect(errorOf(() => loadDataset({ kind: "jsonl", path: noField, field: "prompt" })).message).toBe(
      `${noField}:2 has no string field "prompt"`,
    );
    const blank = file("blank.jsonl", "\n\n");
    expect(errorOf(() => loadDataset({ kind: "jsonl", path: blank, field: "prompt" })).message).toBe(
      `${blank} holds no prompts`,
    );
    expect(() => loadDataset({ kind: "jsonl", path: join(dir, "missing.jsonl"), field: "prompt" })).toThrow(
      /missing\.jsonl/,
    );
  });

  it("plans dataset prompts with their measured counts, each used once before any repeats", () => {
    const texts = Array.from({ length: 37 }, (_, i) => `prompt number ${i} ${"word ".repeat(i)}`.trim());
    const dataset: DatasetPrompts = { texts, tokens: Int32Array.from(texts, (t) => words(t).length + 1) };
    const w = workload({ numRequests: 74, dataset: { kind: "jsonl", path: "unused", field: "prompt" } });
    const plan = buildPlan(w, "m", cal, dataset);
    const firstRound = new Set<string>();
    const counts = new Map<string, number>();
    for (let i = 0; i < plan.count; i++) {
      const p = promptOf(plan, i);
      expect(texts).toContain(p);
      expect(plan.promptTokens(i, false)).toBe(words(p).length + 1);
      if (i < 37) firstRound.add(p);
      counts.set(p, (counts.get(p) ?? 0) + 1);
    }
    expect(firstRound.size).toBe(37);
    expect([...counts.values()].every((n) => n === 2)).toBe(true);
    expect(buildPlan(w, "m", cal, dataset).body(5, false)).toBe(plan.body(5, false));
  });
});

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
