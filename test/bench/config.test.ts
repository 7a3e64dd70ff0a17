import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { configFromObject, defaultConfig, loadConfig, parseConfig } from "../../src/bench/config.js";
import { ConfigError } from "../../src/bench/config-text.js";
import { costProfile, loadCostProfile } from "../../src/bench/cost-profile.js";
import { TokenForgeError } from "../../src/errors.js";

const ORIGINAL = `model: meta-llama/Llama-3-8b-instruct
runtimes: [vllm, transformers]
workloads:
  - name: qa-short
    qps: 5
    duration_s: 180
    prompt_len: 256
    gen_tokens: 128
`;

const dir = mkdtempSync(join(tmpdir(), "tokenforge-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** A minimal valid workload, in the file's words, with `extra` merged over it. */
function workload(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: "w", qps: 1, prompt_len: 16, gen_tokens: 8, ...extra };
}

function config(extra: Record<string, unknown> = {}, workloads = [workload()]): Record<string, unknown> {
  return { model: "synthetic:tiny", runtimes: ["llamacpp"], workloads, ...extra };
}

function problems(raw: unknown, options = {}): { path: string; message: string }[] {
  try {
    configFromObject(raw, { baseDir: dir, ...options });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toBeInstanceOf(TokenForgeError);
    return [...(err as ConfigError).problems];
  }
  throw new Error("config was accepted");
}

/** The one problem at `path`; fails when there is none or several. */
function problemAt(raw: unknown, path: string): string {
  const found = problems(raw).filter((p) => p.path === path);
  expect(found, JSON.stringify(problems(raw))).toHaveLength(1);
  return found[0]!.message;
}

describe("the original format", () => {
  it("loads unchanged, with every default filled", () => {
    const cfg = parseConfig(ORIGINAL);
    expect(cfg).toEqual({
      model: "meta-llama/Llama-3-8b-instruct",
      runtimes: ["vllm", "transformers"],
      targets: {},
      seed: 0,
      workloads: [
        {
          name: "qa-short",
          qps: 5,
          durationS: 180,
          warmup: { requests: 0 },
          promptLen: { kind: "fixed", value: 256 },
          genTokens: { kind: "fixed", value: 128 },
          dataset: { kind: "synthetic" },
          prefix: { length: 0, ratio: 0 },
          endpoint: "completions",
          stream: true,
          arrival: { kind: "poisson" },
          slo: {},
          seed: 0,
          maxErrorFraction: 0.5,
        },
      ],
    });
  });

  it("reads the same config as JSON, by extension", () => {
    const yamlPath = write("original.yaml", ORIGINAL);
    const jsonPath = write("original.json", JSON.stringify(parseYamlLike()));
    expect(loadConfig(jsonPath)).toEqual(loadConfig(yamlPath));
    expect(parseConfig(JSON.stringify(parseYamlLike()), { format: "json" })).toEqual(parseConfig(ORIGINAL));
  });

  it("loads every example config shipped in configs/", () => {
    const configs = resolve(import.meta.dirname, "../../configs");
    const files = readdirSync(configs).filter((f) => f.endsWith(".yaml"));
    expect(files).toEqual(expect.arrayContaining(["benchmark.yaml", "quickstart.yaml", "sweep.yaml"]));
    for (const f of files) expect(() => loadConfig(join(configs, f)), f).not.toThrow();
    const quick = loadConfig(join(configs, "quickstart.yaml"));
    expect(quick.runtimes).toEqual(["llamacpp"]);
    expect(quick.cost?.dollarsPerHour).toBeCloseTo(1500 / (3 * 8760 * 0.25) + 0.045 * 0.3, 10);
    for (const f of readdirSync(join(configs, "cost-profiles"))) {
      expect(loadCostProfile(join(configs, "cost-profiles", f)).dollarsPerHour, f).toBeGreaterThan(0);
    }
  });
});

function parseYamlLike(): unknown {
  return {
    model: "meta-llama/Llama-3-8b-instruct",
    runtimes: ["vllm", "transformers"],
    workloads: [{ name: "qa-short", qps: 5, duration_s: 180, prompt_len: 256, gen_tokens: 128 }],
  };
}

describe("defaults and normalization", () => {
  it("fills num_requests 100, seeds from the top-level seed + index, merges SLOs", () => {
    const cfg = configFromObject(
      config({ seed: 10, slo: { ttft_ms: 200, e2e_ms: 5000 } }, [
        workload({ name: "a" }),
        workload({ name: "b", slo: { ttft_ms: 50, tpot_ms: 20 } }),
        workload({ name: "c", seed: 3 }),
      ]),
    );
    expect(cfg.workloads.map((w) => w.numRequests)).toEqual([100, 100, 100]);
    expect(cfg.workloads.map((w) => w.seed)).toEqual([10, 11, 3]);
    expect(cfg.workloads[0]!.slo).toEqual({ ttftMs: 200, e2eMs: 5000 });
    expect(cfg.workloads[1]!.slo).toEqual({ ttftMs: 50, tpotMs: 20, e2eMs: 5000 });
  });

  it("takes stall_timeout_s and max_error_fraction from the workload, else the top level", () => {
    const cfg = configFromObject(
      config({ stall_timeout_s: 90, max_error_fraction: 0.1 }, [
        workload({ name: "a" }),
        workload({ name: "b", stall_timeout_s: 2.5, max_error_fraction: 0 }),
      ]),
    );
    expect(cfg.workloads.map((w) => [w.stallTimeoutS, w.maxErrorFraction])).toEqual([
      [90, 0.1],
      [2.5, 0],
    ]);
    // Neither given: no fixed stall timeout (derived per target), half the requests may fail.
    const plain = configFromObject(config()).workloads[0]!;
    expect(plain.stallTimeoutS).toBeUndefined();
    expect(plain.maxErrorFraction).toBe(0.5);
  });

  it("maps every form of every option", () => {
    write("conv.jsonl", '{"text": "hi"}\n');
    write("share.json", "[]");
    const [a, b, c, d] = configFromObject(
      config({}, [
        workload({
          name: "a",
          qps: "inf",
          prompt_len: { uniform: [10, 20] },
          gen_tokens: { normal: { mean: 50, stdev: 5, max: 60 } },
          warmup: 3,
          dataset: { jsonl: "conv.jsonl", field: "text" },
          arrival: "constant",
          stream: false,
        }),
        workload({
          name: "b",
          qps: undefined,
          concurrency: 4,
          gen_tokens: { list: [1, 2, 3] },
          warmup: { seconds: 2.5 },
          dataset: { sharegpt: "share.json" },
          endpoint: "chat",
          prefix: { length: 8, ratio: 0.5 },
        }),
        workload({ name: "c", qps: 2.5, max_concurrency: 8, arrival: { gamma: { burstiness: 0.5 } } }),
        workload({
          name: "d",
          qps: undefined,
          sweep: { points: 5 },
          duration_s: 30,
          warmup: { requests: 1 },
        }),
      ]),
      { baseDir: dir },
    ).workloads;
    expect(a).toMatchObject({
      promptLen: { kind: "uniform", min: 10, max: 20 },
      genTokens: { kind: "normal", mean: 50, stdev: 5, max: 60 },
      warmup: { requests: 3 },
      dataset: { kind: "jsonl", path: join(dir, "conv.jsonl"), field: "text" },
      arrival: { kind: "constant" },
      stream: false,
    });
    expect(a!.qps).toBeUndefined();
    expect(a!.concurrency).toBeUndefined();
    expect(b).toMatchObject({
      concurrency: 4,
      genTokens: { kind: "list", values: [1, 2, 3] },
      warmup: { seconds: 2.5 },
      dataset: { kind: "sharegpt", path: join(dir, "share.json") },
      endpoint: "chat",
      prefix: { length: 8, ratio: 0.5 },
    });
    expect(b!.qps).toBeUndefined();
    expect(c).toMatchObject({ qps: 2.5, maxConcurrency: 8, arrival: { kind: "gamma", burstiness: 0.5 } });
    expect(d).toMatchObject({ sweep: { points: 5 }, durationS: 30, warmup: { requests: 1 } });
    expect(d!.numRequests).toBeUndefined();
    expect(d!.qps).toBeUndefined();
  });

  it("defaults a jsonl dataset's field to prompt and trims target URLs to the server root", () => {
    write("p.jsonl", "");
    const cfg = configFromObject(
      config({ runtimes: ["a", "b"], targets: { a: "http://10.0.0.5:8000/v1/", b: "https://x.example" } }, [
        workload({ dataset: { jsonl: "p.jsonl" } }),
      ]),
      { baseDir: dir },
    );
    expect(cfg.workloads[0]!.dataset).toEqual({ kind: "jsonl", path: join(dir, "p.jsonl"), field: "prompt" });
    expect(cfg.targets).toEqual({ a: "http://10.0.0.5:8000", b: "https://x.example" });
  });

  it("has a built-in workload for tokenforge bench with no config, short enough for a laptop", () => {
    const cfg = defaultConfig("synthetic:tiny", "llamacpp");
    expect(cfg.model).toBe("synthetic:tiny");
    expect(cfg.runtimes).toEqual(["llamacpp"]);
    const [w] = cfg.workloads;
    expect(w).toMatchObject({
      qps: 2,
      numRequests: 30,
      warmup: { requests: 2 },
      promptLen: { kind: "fixed", value: 64 },
      genTokens: { kind: "fixed", value: 32 },
    });
    // The schedule alone (30 requests at 2/s) leaves room for the replies within ~30 s.
    expect(w!.numRequests! / w!.qps!).toBeLessThanOrEqual(15);
  });
});

describe("cost", () => {
  it("takes an hourly rate as is", () => {
    expect(costProfile({ dollars_per_hour: 2.5 })).toEqual({
      dollarsPerHour: 2.5,
      breakdown: { hourly: 2.5 },
    });
  });

  it("amortizes a purchase over the hours in use and adds energy", () => {
    const cost = costProfile({
      price: 30000,
      amortization_years: 4,
      utilization: 0.7,
      power_watts: 700,
      dollars_per_kwh: 0.12,
    });
    expect(cost.dollarsPerHour).toBeCloseTo(30000 / (4 * 8760 * 0.7) + 0.7 * 0.12, 12);
    expect(cost.dollarsPerHour).toBeCloseTo(1.30709, 4);
    expect(cost.breakdown).toEqual({
      price: 30000,
      amortizationYears: 4,
      utilization: 0.7,
      powerWatts: 700,
      dollarsPerKwh: 0.12,
    });
    // Utilization defaults to 1 and energy to nothing.
    expect(costProfile({ price: 8760, amortization_years: 1 }).dollarsPerHour).toBe(1);
  });

  it("reads a profile file named relative to the config file", () => {
    write("gpu.yaml", "dollars_per_hour: 4\n");
    const path = write("with-cost.yaml", `${ORIGINAL}cost: gpu.yaml\n`);
    expect(loadConfig(path).cost).toEqual({ dollarsPerHour: 4, breakdown: { hourly: 4 } });
  });

  it("reports a missing profile file and a bad profile with the file named", () => {
    expect(problemAt(config({ cost: "nope.yaml" }), "cost")).toContain(join(dir, "nope.yaml"));
    write("bad-cost.yaml", "price: 100\nutilization: 2\n");
    const found = problems(config({ cost: "bad-cost.yaml" }));
    expect(found.map((p) => p.path).sort()).toEqual(["cost.amortization_years", "cost.utilization"]);
    expect(found.every((p) => p.message.includes("bad-cost.yaml"))).toBe(true);
    expect(found.find((p) => p.path === "cost.utilization")!.message).toContain("in (0, 1]");
  });

  it("needs power_watts and dollars_per_kwh together", () => {
    expect(
      problemAt(
        config({ cost: { price: 1, amortization_years: 1, power_watts: 5 } }),
        "cost.dollars_per_kwh",
      ),
    ).toMatch(/both or neither/);
  });

  it("rejects a cost that mixes the two forms", () => {
    expect(problemAt(config({ cost: { dollars_per_hour: 1, price: 2 } }), "cost")).toMatch(
      /dollars_per_hour/,
    );
  });
});

describe("errors", () => {
  it("is one TokenForgeError invalid_request whose field is the first path", () => {
    try {
      configFromObject(config({}, [workload({ qps: 0 })]));
      expect.unreachable();
    } catch (err) {
      const e = err as ConfigError;
      expect(e.code).toBe("invalid_request");
      expect(e.status).toBe(400);
      expect(e.field).toBe("workloads[0].qps");
      expect(e.message).toContain("workloads[0].qps: must be a number > 0");
    }
  });

  it("names unknown keys with the allowed ones, at every level", () => {
    expect(problemAt(config({ modle: "x" }), "modle")).toMatch(
      /unknown key "modle".*allowed keys: model, runtimes/,
    );
    const msg = problemAt(config({}, [workload({ qsp: 3 })]), "workloads[0].qsp");
    expect(msg).toContain('did you mean "qps"');
    expect(msg).toContain("allowed keys: name, qps, concurrency");
    expect(problemAt(config({ slo: { ttft: 1 } }), "slo.ttft")).toContain("ttft_ms, tpot_ms, e2e_ms");
    expect(
      problemAt(
        config({}, [workload({ gen_tokens: { uniform: [1, 2], x: 1 } })]),
        "workloads[0].gen_tokens.x",
      ),
    ).toContain("allowed keys: uniform");
  });

  it("reports missing required keys", () => {
    expect(problemAt({ runtimes: ["a"], workloads: [workload()] }, "model")).toContain("is required");
    expect(problemAt(config({}, [{ qps: 1, prompt_len: 1, gen_tokens: 1 }]), "workloads[0].name")).toContain(
      "is required",
    );
    expect(problemAt(config({ workloads: [] }), "workloads")).toContain("non-empty list");
    expect(problemAt(config({ runtimes: [] }), "runtimes")).toContain("non-empty list");
  });

  it("reports ranges and allowed values", () => {
    const cases: [Record<string, unknown>, string, string][] = [
      [{ qps: -1 }, "workloads[0].qps", 'a number > 0, "inf" or "max" (got -1)'],
      [{ qps: "fast" }, "workloads[0].qps", '"inf" or "max"'],
      [{ qps: undefined, concurrency: 1.5 }, "workloads[0].concurrency", "an integer ≥ 1 (got 1.5)"],
      [{ max_concurrency: 0 }, "workloads[0].max_concurrency", "an integer ≥ 1"],
      [{ duration_s: 0 }, "workloads[0].duration_s", "a number > 0"],
      [{ num_requests: 2.5 }, "workloads[0].num_requests", "an integer ≥ 1"],
      [{ name: "a b" }, "workloads[0].name", "letters, digits"],
      [{ prompt_len: 0 }, "workloads[0].prompt_len", "an integer ≥ 1, {uniform: [min, max]}"],
      [{ gen_tokens: { uniform: [1] } }, "workloads[0].gen_tokens.uniform", "[min, max]"],
      [{ gen_tokens: { uniform: [0, 4] } }, "workloads[0].gen_tokens.uniform[0]", "an integer ≥ 1"],
      [{ gen_tokens: { list: [] } }, "workloads[0].gen_tokens.list", "non-empty list"],
      [{ gen_tokens: { normal: { mean: 5 } } }, "workloads[0].gen_tokens.normal.stdev", "is required"],
      [{ arrival: "posson" }, "workloads[0].arrival", 'did you mean "poisson"'],
      [{ arrival: { gamma: { burstiness: 0 } } }, "workloads[0].arrival.gamma.burstiness", "a number > 0"],
      [{ endpoint: "embeddings" }, "workloads[0].endpoint", '"completions" or "chat"'],
      [{ stream: "yes" }, "workloads[0].stream", "true or false"],
      [{ warmup: -1 }, "workloads[0].warmup", "{seconds: s}"],
      [{ warmup: { requests: 1.5 } }, "workloads[0].warmup.requests", "an integer ≥ 0"],
      [{ prefix: { length: 4, ratio: 1.5 } }, "workloads[0].prefix.ratio", "a number in [0, 1]"],
      [{ prefix: { length: 4 } }, "workloads[0].prefix.ratio", "is required"],
      [{ dataset: "sharegpt" }, "workloads[0].dataset", '"synthetic", {sharegpt: path}'],
      [{ seed: -1 }, "workloads[0].seed", "an integer in [0, 4294967295]"],
      [{ slo: { e2e_ms: 0 } }, "workloads[0].slo.e2e_ms", "a number > 0"],
      [{ qps: undefined, sweep: { points: 51 } }, "workloads[0].sweep.points", "an integer in [1, 50]"],
      [{ stall_timeout_s: 0 }, "workloads[0].stall_timeout_s", "a number of seconds > 0 (got 0)"],
      [{ stall_timeout_s: "1m" }, "workloads[0].stall_timeout_s", "a number of seconds > 0"],
      [{ max_error_fraction: 1.5 }, "workloads[0].max_error_fraction", "a fraction in [0, 1] (got 1.5)"],
      [{ max_error_fraction: -0.1 }, "workloads[0].max_error_fraction", "a fraction in [0, 1]"],
    ];
    for (const [extra, path, text] of cases) {
      expect(problemAt(config({}, [workload(extra)]), path), JSON.stringify(extra)).toContain(text);
    }
    expect(problemAt(config({ seed: 1.5 }), "seed")).toContain("an integer");
    expect(problemAt(config({ stall_timeout_s: -5 }), "stall_timeout_s")).toContain(
      "a number of seconds > 0",
    );
    expect(problemAt(config({ max_error_fraction: 2 }), "max_error_fraction")).toContain(
      "a fraction in [0, 1]",
    );
    expect(problemAt(config({ targets: { llamacpp: "ftp://x" } }), "targets.llamacpp")).toContain("http://");
    expect(problemAt(config({ model: "" }), "model")).toContain("non-empty string");
  });

  it("checks fields against each other", () => {
    const at = (extra: Record<string, unknown>, path: string) =>
      problemAt(config({}, [workload(extra)]), path);
    expect(at({ concurrency: 2 }, "workloads[0].concurrency")).toMatch(/mutually exclusive/);
    expect(at({ qps: undefined }, "workloads[0]")).toMatch(/qps .*concurrency, sweep, ramp or trace/);
    expect(at({ sweep: { points: 3 } }, "workloads[0].qps")).toMatch(/absent with sweep/);
    expect(at({ duration_s: 10, num_requests: 5 }, "workloads[0].num_requests")).toMatch(
      /mutually exclusive/,
    );
    expect(
      at({ qps: undefined, concurrency: 2, max_concurrency: 4 }, "workloads[0].max_concurrency"),
    ).toMatch(/open loop/);
    expect(at({ qps: undefined, concurrency: 2, arrival: "constant" }, "workloads[0].arrival")).toMatch(
      /open loop/,
    );
    expect(at({ qps: "inf", duration_s: 10 }, "workloads[0].duration_s")).toMatch(
      /num_requests or max_concurrency/,
    );
    expect(at({ warmup: {} }, "workloads[0].warmup")).toMatch(/exactly one of seconds or requests/);
    expect(at({ warmup: { seconds: 1, requests: 1 } }, "workloads[0].warmup")).toMatch(/exactly one/);
    expect(at({ prompt_len: { uniform: [9, 3] } }, "workloads[0].prompt_len.uniform")).toMatch(
      /min 9 .* max 3/,
    );
    expect(
      at({ gen_tokens: { normal: { mean: 5, stdev: 1, min: 8, max: 2 } } }, "workloads[0].gen_tokens.normal"),
    ).toMatch(/min 8 .* max 2/);
    expect(at({ prompt_len: 16, prefix: { length: 32, ratio: 0.5 } }, "workloads[0].prompt_len")).toMatch(
      /shorter than prefix.length 32/,
    );
    expect(
      at(
        { prompt_len: { normal: { mean: 100, stdev: 10 } }, prefix: { length: 32, ratio: 1 } },
        "workloads[0].prompt_len",
      ),
    ).toMatch(/normal.min/);
    expect(at({ prefix: { length: 0, ratio: 0.5 } }, "workloads[0].prefix.length")).toMatch(
      /≥ 1 when ratio > 0/,
    );
    expect(at({ stream: false, slo: { ttft_ms: 100 } }, "workloads[0].stream")).toMatch(/ttft_ms/);
    // A prefix longer than the prompt is fine when no request uses it.
    expect(() =>
      configFromObject(config({}, [workload({ prefix: { length: 32, ratio: 0 } })])),
    ).not.toThrow();
  });

  it("rejects duplicate names, repeated runtimes, stray targets and unknown runtimes", () => {
    expect(
      problemAt(config({}, [workload({ name: "x" }), workload({ name: "x" })]), "workloads[1].name"),
    ).toMatch(/duplicate name "x" \(also workloads\[0\]\)/);
    expect(problemAt(config({ runtimes: ["llamacpp", "llamacpp"] }), "runtimes[1]")).toMatch(/listed twice/);
    expect(problemAt(config({ targets: { vllm: "http://x:8000" } }), "targets.vllm")).toMatch(
      /not one of runtimes/,
    );
    const unknown = problems(config({ runtimes: ["llamacpp", "vlm"] }), {
      knownRuntimes: ["llamacpp", "vllm"],
    });
    expect(unknown).toEqual([
      { path: "runtimes[1]", message: 'unknown runtime "vlm"; known: llamacpp, vllm' },
    ]);
  });

  it("checks that dataset files exist, relative to the config file", () => {
    expect(
      problemAt(
        config({}, [workload({ dataset: { sharegpt: "missing.json" } })]),
        "workloads[0].dataset.sharegpt",
      ),
    ).toBe(`file not found: ${join(dir, "missing.json")}`);
    expect(
      problemAt(config({}, [workload({ dataset: { jsonl: "." } })]), "workloads[0].dataset.jsonl"),
    ).toMatch(/file not found/);
  });

  it("reports every problem at once, in file order", () => {
    const found = problems({
      model: "m",
      runtimes: ["a"],
      colour: "blue",
      workloads: [
        { name: "one", qps: 0, prompt_len: 0, gen_tokens: { uniform: [5, 1] }, arrival: "bursty" },
        { name: "two", concurrency: 2, qps: 3, prompt_len: 8 },
        { name: "one", num_requests: 5, duration_s: 3, qps: 1, prompt_len: 8, gen_tokens: 4 },
      ],
      cost: { dollars_per_hour: -1 },
    });
    expect(found.map((p) => p.path)).toEqual([
      "colour",
      "workloads[0].qps",
      "workloads[0].prompt_len",
      "workloads[0].arrival",
      "workloads[0].gen_tokens.uniform",
      "workloads[1].gen_tokens",
      "workloads[1].concurrency",
      "workloads[2].name",
      "workloads[2].num_requests",
      "cost.dollars_per_hour",
    ]);
    let message = "";
    try {
      configFromObject({ model: "m", runtimes: ["a"], colour: 1, workloads: [{ name: "x" }] });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^invalid benchmark config \(4 problems\):\n {2}- colour: unknown key/);
  });

  it("reports malformed YAML and JSON and a missing file", () => {
    expect(() => parseConfig("model: [")).toThrow(/not valid YAML.*line 1/s);
    expect(() => parseConfig("model: a\nmodel: b\n")).toThrow(/not valid YAML/);
    expect(() => parseConfig("{", { format: "json" })).toThrow(/not valid JSON/);
    expect(() => parseConfig("")).toThrow(/must be a config object/);
    expect(() => loadConfig(join(dir, "absent.yaml"))).toThrow(/cannot read .*absent.yaml \(ENOENT\)/);
  });
});
