/** The stall timeout a workload runs under: its own setting, or ten times its expected request time. */
import { describe, expect, it } from "vitest";
import { DEFAULT_STALL_TIMEOUT_MS } from "../../src/bench/client.js";
import { workloadOf } from "../../src/bench/config.js";
import { largestDraw, stallTimeoutMs } from "../../src/bench/stall.js";
import type { Workload } from "../../src/bench/types.js";

const w = (extra: Partial<Workload> = {}) =>
  workloadOf({
    name: "w",
    qps: 1,
    promptLen: { kind: "fixed", value: 100 },
    genTokens: { kind: "fixed", value: 50 },
    ...extra,
  });
/** A check request of the same shape that took 4 s. */
const check = { e2eMs: 4000, promptTokens: 100, completionTokens: 50 };

describe("stallTimeoutMs", () => {
  it("is the workload's stall_timeout_s when set, whatever the check took", () => {
    expect(stallTimeoutMs(w({ stallTimeoutS: 2.5 }), check)).toBe(2500);
    expect(stallTimeoutMs(w({ stallTimeoutS: 2.5 }), undefined)).toBe(2500);
  });

  it("is ten times the check's time for a request of the check's shape, never under 30 s", () => {
    expect(stallTimeoutMs(w(), check)).toBe(40_000);
    expect(stallTimeoutMs(w(), { ...check, e2eMs: 50 })).toBe(30_000);
  });

  it("scales with the workload's largest prompt or output, whichever grows more", () => {
    // Up to 4× the check's output: 4 × 4 s × 10.
    expect(stallTimeoutMs(w({ genTokens: { kind: "uniform", min: 10, max: 200 } }), check)).toBe(160_000);
    // A dataset's longest prompt, 3× the check's.
    expect(stallTimeoutMs(w(), check, 300)).toBe(120_000);
    // Smaller requests than the check keep the check's time.
    expect(stallTimeoutMs(w({ genTokens: { kind: "fixed", value: 5 } }), check)).toBe(40_000);
  });

  it("falls back to the client's default without a check", () => {
    expect(stallTimeoutMs(w(), undefined)).toBe(DEFAULT_STALL_TIMEOUT_MS);
  });
});

describe("largestDraw", () => {
  it("is the largest value each distribution can draw", () => {
    expect(largestDraw({ kind: "fixed", value: 7 })).toBe(7);
    expect(largestDraw({ kind: "uniform", min: 3, max: 9 })).toBe(9);
    expect(largestDraw({ kind: "list", values: [4, 12, 8] })).toBe(12);
    expect(largestDraw({ kind: "normal", mean: 100, stdev: 10, max: 120 })).toBe(120);
    expect(largestDraw({ kind: "normal", mean: 100, stdev: 10 })).toBe(140);
  });
});
