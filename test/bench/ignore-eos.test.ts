/** A server that refuses `ignore_eos` gets the same plan without it, and only then. */
import { describe, expect, it } from "vitest";
import { workloadOf } from "../../src/bench/config.js";
import type { FirstRequestCheck } from "../../src/bench/first-request.js";
import { refusesIgnoreEos, withoutIgnoreEos } from "../../src/bench/ignore-eos.js";
import { buildPlan } from "../../src/bench/plan.js";
import { calibrateWithCounter } from "../../src/bench/prompts.js";

const check = (over: Partial<FirstRequestCheck>): FirstRequestCheck => ({
  runtime: "api",
  url: "http://h",
  workload: "w",
  outcome: "error",
  promptTokens: 8,
  maxTokens: 4,
  ...over,
});

describe("ignore_eos refused", () => {
  it("is recognised from a 400 or 422 naming the argument, and from nothing else", () => {
    expect(
      refusesIgnoreEos(
        check({ status: 400, error: "HTTP 400: Unrecognized request argument supplied: ignore_eos" }),
      ),
    ).toBe(true);
    expect(refusesIgnoreEos(check({ status: 422, error: "HTTP 422: unknown field `ignore_eos`" }))).toBe(
      true,
    );
    expect(refusesIgnoreEos(check({ status: 400, error: "HTTP 400: max_tokens is too large" }))).toBe(false);
    expect(refusesIgnoreEos(check({ status: 500, error: "HTTP 500: ignore_eos crashed" }))).toBe(false);
    expect(refusesIgnoreEos(check({ status: 400, error: "HTTP 400: not_ignore_eos_thing" }))).toBe(false);
  });

  it("leaves every body whole but for the argument, even a prompt that spells it", async () => {
    const cal = await calibrateWithCounter(
      async (t) => t.split(/\s+/).filter(Boolean).length,
      "local-tokenizer",
    );
    const plan = buildPlan(
      workloadOf({
        name: "w",
        qps: 10,
        numRequests: 5,
        promptLen: { kind: "fixed", value: 8 },
        genTokens: { kind: "fixed", value: 4 },
        seed: 1,
      }),
      "m",
      cal,
      { texts: ['say ,"ignore_eos":true please'], tokens: Int32Array.from([5]) },
    );
    const bare = withoutIgnoreEos(plan);
    for (let i = 0; i < 5; i++) {
      const before = JSON.parse(plan.body(i, false)) as Record<string, unknown>;
      const after = JSON.parse(bare.body(i, false)) as Record<string, unknown>;
      expect(before.ignore_eos).toBe(true);
      expect("ignore_eos" in after).toBe(false);
      const { ignore_eos: _, ...rest } = before;
      expect(after).toEqual(rest);
      expect(bare.request(i, false)).toMatchObject({ promptTokens: 5, maxTokens: 4 });
    }
  });
});
