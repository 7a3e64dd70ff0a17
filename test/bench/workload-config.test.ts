/**
 * The config keys of the traffic shapes beyond a fixed rate: the SLO search, with defaults
 * filled and every bad field named by its path.
 */
import { describe, expect, it } from "vitest";
import { configFromObject, loadConfig } from "../../src/bench/config.js";
import { ConfigError } from "../../src/bench/config-text.js";

function workload(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: "w", qps: 1, prompt_len: 16, gen_tokens: 8, ...extra };
}

function config(w: Record<string, unknown>, top: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: "synthetic:tiny", runtimes: ["llamacpp"], workloads: [w], ...top };
}

function problems(raw: unknown): { path: string; message: string }[] {
  try {
    configFromObject(raw, { baseDir: "/" });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).problems];
  }
  throw new Error("config was accepted");
}

function problemAt(raw: unknown, path: string): string {
  const found = problems(raw).filter((p) => p.path === path);
  expect(found, JSON.stringify(problems(raw))).toHaveLength(1);
  return found[0]!.message;
}

describe("sweep search", () => {
  it("fills the defaults and keeps what is given", () => {
    const search = (s: Record<string, unknown>) =>
      configFromObject(config(workload({ qps: undefined, sweep: { search: s }, slo: { ttft_ms: 500 } })))
        .workloads[0]!.sweep;
    expect(search({})).toEqual({
      search: { attainment: 0.99, confidence: 0.95, tolerance: 0.05, maxPoints: 12 },
    });
    expect(
      search({ attainment: 0.9, confidence: 0.9, tolerance: 0.1, max_points: 6, start_qps: 2, max_qps: 40 }),
    ).toEqual({
      search: { attainment: 0.9, confidence: 0.9, tolerance: 0.1, maxPoints: 6, startQps: 2, maxQps: 40 },
    });
  });

  it("takes the top-level SLO", () => {
    const cfg = configFromObject(
      config(workload({ qps: undefined, sweep: { search: {} } }), { slo: { e2e_ms: 2000 } }),
    );
    expect(cfg.workloads[0]!.slo).toEqual({ e2eMs: 2000 });
  });

  it("names every bad field", () => {
    const at = (search: unknown, path: string, slo: unknown = { ttft_ms: 1 }) =>
      problemAt(config(workload({ qps: undefined, sweep: { search }, slo })), path);
    expect(at({ attainment: 1 }, "workloads[0].sweep.search.attainment")).toContain("a fraction in (0, 1)");
    expect(at({ confidence: 0.2 }, "workloads[0].sweep.search.confidence")).toContain("[0.5, 1)");
    expect(at({ tolerance: 0.001 }, "workloads[0].sweep.search.tolerance")).toContain("[0.01, 1]");
    expect(at({ max_points: 1 }, "workloads[0].sweep.search.max_points")).toContain("an integer in [2, 50]");
    expect(at({ start_qps: 0 }, "workloads[0].sweep.search.start_qps")).toContain("a number > 0");
    expect(at({ start_qps: 9, max_qps: 3 }, "workloads[0].sweep.search.start_qps")).toContain(
      "greater than max_qps 3",
    );
    expect(at({ atainment: 0.9 }, "workloads[0].sweep.search.atainment")).toContain(
      'did you mean "attainment"',
    );
    expect(at({}, "workloads[0].sweep.search", {})).toContain("needs an slo");
  });

  it("loads the example config", async () => {
    const cfg = loadConfig(new URL("../../configs/slo-search.yaml", import.meta.url).pathname);
    const w = (await cfg).workloads[0]!;
    expect(w.sweep).toMatchObject({ search: { attainment: 0.99 } });
    expect(w.slo.ttftMs).toBeDefined();
  });
});

describe("ramp", () => {
  const rampOf = (ramp: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    configFromObject(config(workload({ qps: undefined, ramp, ...extra }))).workloads[0]!;

  it("normalizes a rate ramp and a concurrency ramp, with their defaults", () => {
    const w = rampOf({ qps: [1, 20], duration_s: 60 });
    expect(w.ramp).toEqual({ of: "qps", from: 1, to: 20, durationS: 60, shape: "linear", steps: 5 });
    expect(w.numRequests).toBeUndefined();
    expect(w.qps).toBeUndefined();
    expect(rampOf({ concurrency: [1, 32], duration_s: 30, shape: "exponential", steps: 6 }).ramp).toEqual({
      of: "concurrency",
      from: 1,
      to: 32,
      durationS: 30,
      shape: "exponential",
      steps: 6,
    });
  });

  it("names every bad field", () => {
    const at = (ramp: unknown, path: string, extra: Record<string, unknown> = {}) =>
      problemAt(config(workload({ qps: undefined, ramp, ...extra })), path);
    expect(at({ qps: [1, 2] }, "workloads[0].ramp.duration_s")).toContain("is required");
    expect(at({ qps: [0, 2], duration_s: 1 }, "workloads[0].ramp.qps[0]")).toContain("a number > 0");
    expect(at({ concurrency: [1, 2.5], duration_s: 1 }, "workloads[0].ramp.concurrency[1]")).toContain(
      "an integer ≥ 1",
    );
    expect(at({ qps: [1, 2], duration_s: 1, shape: "log" }, "workloads[0].ramp.shape")).toContain(
      '"linear" or "exponential"',
    );
    expect(at({ qps: [1, 2], duration_s: 1, steps: 0 }, "workloads[0].ramp.steps")).toContain("[1, 100]");
    expect(at({ duration_s: 1 }, "workloads[0].ramp")).toContain("exactly one of qps");
    expect(at({ qps: [1, 2], concurrency: [1, 2], duration_s: 1 }, "workloads[0].ramp")).toContain(
      "exactly one of qps",
    );
    expect(at({ qps: [1, 2], duration_s: 1 }, "workloads[0].qps", { qps: 3 })).toContain("absent with ramp");
    expect(at({ qps: [1, 2], duration_s: 1 }, "workloads[0].num_requests", { num_requests: 3 })).toContain(
      "absent with ramp",
    );
    expect(
      at({ concurrency: [1, 2], duration_s: 1 }, "workloads[0].arrival", { arrival: "constant" }),
    ).toContain("closed loop");
  });

  it("loads the example config", () => {
    const cfg = loadConfig(new URL("../../configs/ramp.yaml", import.meta.url).pathname);
    expect(cfg.workloads.map((w) => w.ramp?.of)).toEqual(["qps", "concurrency"]);
  });
});

describe("saturation", () => {
  it("fills the defaults and names bad fields", () => {
    const w = configFromObject(config(workload({ saturation: {} }))).workloads[0]!;
    expect(w.saturation).toEqual({ windowS: 10, minGrowth: 0.5 });
    const w2 = configFromObject(config(workload({ saturation: { window_s: 5, min_growth: 2 } })))
      .workloads[0]!;
    expect(w2.saturation).toEqual({ windowS: 5, minGrowth: 2 });
    expect(
      problemAt(config(workload({ saturation: { window_s: 0 } })), "workloads[0].saturation.window_s"),
    ).toContain("a number > 0");
    expect(
      problemAt(config(workload({ saturation: { slope: 1 } })), "workloads[0].saturation.slope"),
    ).toContain("unknown key");
    expect(problemAt(config(workload({ saturation: true })), "workloads[0].saturation")).toContain(
      "{window_s?, min_growth?}",
    );
    const cfg = loadConfig(new URL("../../configs/saturation.yaml", import.meta.url).pathname);
    expect(cfg.workloads[0]!.saturation).toEqual({ windowS: 10, minGrowth: 0.5 });
  });
});

describe("sessions", () => {
  it("normalizes sessions with their defaults", () => {
    const w = configFromObject(config(workload({ sessions: { turns: 4 } }))).workloads[0]!;
    expect(w.sessions).toEqual({ turns: { kind: "fixed", value: 4 }, systemPrompt: 0, count: 10 });
    expect(w.numRequests).toBeUndefined();
    const w2 = configFromObject(
      config(
        workload({
          qps: undefined,
          concurrency: 8,
          duration_s: 30,
          sessions: {
            turns: { uniform: [2, 6] },
            think_ms: { normal: { mean: 2000, stdev: 500, min: 100 } },
            system_prompt: 64,
          },
        }),
      ),
    ).workloads[0]!;
    expect(w2.sessions).toEqual({
      turns: { kind: "uniform", min: 2, max: 6 },
      thinkMs: { kind: "normal", mean: 2000, stdev: 500, min: 100 },
      systemPrompt: 64,
    });
    expect(
      configFromObject(config(workload({ sessions: { turns: 2, think_ms: 0 } }))).workloads[0]!.sessions!
        .thinkMs,
    ).toBeUndefined();
  });

  it("names every bad field", () => {
    const at = (extra: Record<string, unknown>, path: string) => problemAt(config(workload(extra)), path);
    expect(at({ sessions: {} }, "workloads[0].sessions.turns")).toContain("is required");
    expect(at({ sessions: { turns: 0 } }, "workloads[0].sessions.turns")).toContain("an integer ≥ 1");
    expect(at({ sessions: { turns: { uniform: [2, 200] } } }, "workloads[0].sessions.turns")).toContain(
      "at most 100",
    );
    expect(
      at({ sessions: { turns: { normal: { mean: 3, stdev: 1 } } } }, "workloads[0].sessions.turns"),
    ).toContain("set normal.max");
    expect(at({ sessions: { turns: 2, think_ms: -1 } }, "workloads[0].sessions.think_ms")).toContain(
      "0 or a distribution",
    );
    expect(
      at({ sessions: { turns: 2, system_prompt: 1.5 } }, "workloads[0].sessions.system_prompt"),
    ).toContain("an integer ≥ 0");
    expect(at({ sessions: { turns: 2 }, num_requests: 5 }, "workloads[0].num_requests")).toContain(
      "sessions.count",
    );
    expect(at({ sessions: { turns: 2 }, warmup: 2 }, "workloads[0].warmup")).toContain(
      "not supported with sessions",
    );
    expect(at({ sessions: { turns: 2 }, qps: "inf" }, "workloads[0].qps")).toContain("arrival rate");
    expect(at({ sessions: { turns: 2, count: 3 }, duration_s: 5 }, "workloads[0].sessions.count")).toContain(
      "mutually exclusive",
    );
  });

  it("loads the example config", () => {
    const cfg = loadConfig(new URL("../../configs/sessions.yaml", import.meta.url).pathname);
    expect(cfg.workloads.map((w) => w.sessions !== undefined)).toEqual([true, true]);
  });
});
