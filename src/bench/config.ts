/**
 * Loads a workload config (YAML or JSON) into the normalized `BenchConfig` of types.ts. One pass
 * finds every problem — schema violations (config-schema.ts), cross-field rules, missing files —
 * and reports them all in one `ConfigError`; only a config without problems is normalized, with
 * the defaults docs/workloads.md lists.
 */
import { readFileSync, statSync } from "node:fs";
import { dirname, extname, resolve } from "node:path";
import { Value } from "@sinclair/typebox/value";
import { parseDocument } from "yaml";
import { TokenForgeError } from "../errors.js";
import {
  type BenchConfigFile,
  BenchConfigFileSchema,
  type ConfigProblem,
  type CostProfileFile,
  CostProfileFileSchema,
  type DatasetFile,
  type DistributionFile,
  joinPath,
  type SloFile,
  schemaProblems,
  type WorkloadFile,
} from "./config-schema.js";
import type {
  Arrival,
  BenchConfig,
  CostProfile,
  Dataset,
  Distribution,
  Slo,
  Warmup,
  Workload,
} from "./types.js";

export type { ConfigProblem } from "./config-schema.js";

/** Hours in a year, as cost amortization counts them (365 × 24). */
export const HOURS_PER_YEAR = 8760;
export const DEFAULT_NUM_REQUESTS = 100;

export interface ConfigOptions {
  /** Relative paths (datasets, cost profiles) resolve against it; default the working directory. */
  baseDir?: string;
  /** Default "yaml" (which also reads JSON). */
  format?: "yaml" | "json";
  /** Where the text came from, for messages. */
  source?: string;
  /** Runtime names the registry knows; when given, other names in `runtimes` are problems. */
  knownRuntimes?: readonly string[];
}

/** Every problem of a config at once; `field` is the first one's path. */
export class ConfigError extends TokenForgeError {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[], source?: string) {
    const where = source === undefined ? "" : ` ${source}`;
    const lines = problems.map((p) => `  - ${p.path === "" ? "" : `${p.path}: `}${p.message}`);
    const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
    super("invalid_request", `invalid benchmark config${where} (${count}):\n${lines.join("\n")}`, {
      field: problems.find((p) => p.path !== "")?.path,
    });
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/** Reads and validates a config file; `.json` is parsed as JSON, anything else as YAML. */
export function loadConfig(
  path: string,
  options: Omit<ConfigOptions, "baseDir" | "source"> = {},
): BenchConfig {
  const file = resolve(path);
  const text = readText(file, "");
  return parseConfig(text, {
    ...options,
    baseDir: dirname(file),
    format: options.format ?? (extname(file).toLowerCase() === ".json" ? "json" : "yaml"),
    source: path,
  });
}

/** Parses and validates config text. */
export function parseConfig(text: string, options: ConfigOptions = {}): BenchConfig {
  const parsed = parseText(text, options.format ?? "yaml");
  if (parsed.problems.length > 0) throw new ConfigError(parsed.problems, options.source);
  return configFromObject(parsed.value, options);
}

/** Validates an already parsed config (e.g. a JSON request body) and normalizes it. */
export function configFromObject(raw: unknown, options: ConfigOptions = {}): BenchConfig {
  const baseDir = resolve(options.baseDir ?? ".");
  const problems = schemaProblems(BenchConfigFileSchema, raw);
  const cost = isObject(raw) ? resolveCost(raw.cost, baseDir, problems) : undefined;
  crossCheck(raw, baseDir, options.knownRuntimes, problems);
  if (problems.length > 0) throw new ConfigError(inFileOrder(problems, raw), options.source);
  return normalize(raw as BenchConfigFile, baseDir, cost);
}

/**
 * What `tokenforge bench` runs with no config: a short open-loop run that finishes in well under
 * 30 s on the tiny synthetic model on a 2-core laptop CPU.
 */
export function defaultConfig(model: string, runtime: string): BenchConfig {
  return configFromObject({ model, runtimes: [runtime], workloads: [DEFAULT_WORKLOAD] });
}

/**
 * A normalized workload with the config file's defaults (no warmup, synthetic prompts, no shared
 * prefix, completions, streamed, Poisson, no SLO, seed 0), for code that builds workloads
 * directly rather than from a file: benchmarks of the harness, tests.
 */
export function workloadOf(
  fields: Partial<Workload> & Pick<Workload, "name" | "promptLen" | "genTokens">,
): Workload {
  return {
    warmup: { requests: 0 },
    dataset: { kind: "synthetic" },
    prefix: { length: 0, ratio: 0 },
    endpoint: "completions",
    stream: true,
    arrival: { kind: "poisson" },
    slo: {},
    seed: 0,
    ...fields,
  };
}

/** The built-in workload, in the file's words. */
export const DEFAULT_WORKLOAD = {
  name: "default",
  qps: 2,
  num_requests: 30,
  warmup: 2,
  prompt_len: 64,
  gen_tokens: 32,
} as const satisfies WorkloadFile;

/** Reads a cost profile file (configs/cost-profiles/*.yaml). */
export function loadCostProfile(path: string): CostProfile {
  const problems: ConfigProblem[] = [];
  const cost = costFromFile(resolve(path), "", problems);
  if (cost === undefined || problems.length > 0) throw new ConfigError(problems, path);
  return cost;
}

/**
 * Hardware dollars per hour of use: the purchase price spread over the hours it is in use,
 * price / (amortization_years × 8760 × utilization), plus the energy of that hour,
 * power_watts / 1000 × dollars_per_kwh.
 */
export function costProfile(file: CostProfileFile): CostProfile {
  if ("dollars_per_hour" in file) {
    return { dollarsPerHour: file.dollars_per_hour, breakdown: { hourly: file.dollars_per_hour } };
  }
  const utilization = file.utilization ?? 1;
  const powerWatts = file.power_watts ?? 0;
  const dollarsPerKwh = file.dollars_per_kwh ?? 0;
  const hardware = file.price / (file.amortization_years * HOURS_PER_YEAR * utilization);
  const energy = (powerWatts / 1000) * dollarsPerKwh;
  return {
    dollarsPerHour: hardware + energy,
    breakdown: {
      price: file.price,
      amortizationYears: file.amortization_years,
      utilization,
      powerWatts,
      dollarsPerKwh,
    },
  };
}

/**
 * Problems ordered as the file reads: by top-level key as written, then by workload; schema
 * problems stay before cross-field ones within a workload.
 */
function inFileOrder(problems: ConfigProblem[], raw: unknown): ConfigProblem[] {
  const keys = isObject(raw) ? Object.keys(raw) : [];
  const rank = (p: ConfigProblem): [number, number] => {
    const m = /^([A-Za-z_][\w-]*)(?:\[(\d+)\])?/.exec(p.path);
    if (!m) return [-1, -1];
    return [keys.indexOf(m[1]!), m[2] === undefined ? -1 : Number(m[2])];
  };
  return problems
    .map((p, i) => ({ p, i, r: rank(p) }))
    .sort((a, b) => a.r[0] - b.r[0] || a.r[1] - b.r[1] || a.i - b.i)
    .map((x) => x.p);
}

// --- parsing -----------------------------------------------------------------------------------

function readText(file: string, path: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new ConfigError([{ path, message: `cannot read ${file} (${reason})` }]);
  }
}

function parseText(text: string, format: "yaml" | "json"): { value: unknown; problems: ConfigProblem[] } {
  if (format === "json") {
    try {
      return { value: JSON.parse(text), problems: [] };
    } catch (err) {
      return {
        value: undefined,
        problems: [{ path: "", message: `not valid JSON: ${(err as Error).message}` }],
      };
    }
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      value: undefined,
      problems: doc.errors.map((e) => ({ path: "", message: `not valid YAML: ${e.message.trim()}` })),
    };
  }
  return { value: doc.toJS(), problems: [] };
}

// --- cross-field checks (run on whatever parts are well-formed, beside the schema's) --------------

function crossCheck(
  raw: unknown,
  baseDir: string,
  knownRuntimes: readonly string[] | undefined,
  problems: ConfigProblem[],
): void {
  if (!isObject(raw)) return;
  const add = (path: string, message: string) => problems.push({ path, message });
  const runtimes = Array.isArray(raw.runtimes) ? raw.runtimes : [];
  runtimes.forEach((name, i) => {
    if (typeof name !== "string") return;
    if (runtimes.indexOf(name) < i) add(joinPath("runtimes", i), `"${name}" is listed twice`);
    if (knownRuntimes && !knownRuntimes.includes(name)) {
      add(joinPath("runtimes", i), `unknown runtime "${name}"; known: ${knownRuntimes.join(", ")}`);
    }
  });
  if (isObject(raw.targets)) {
    for (const [name, target] of Object.entries(raw.targets)) {
      const path = joinPath("targets", name);
      const url = isObject(target) ? target.url : target;
      if (runtimes.length > 0 && !runtimes.includes(name)) {
        add(path, `"${name}" is not one of runtimes (${[...new Set(runtimes)].join(", ")})`);
      }
      if (typeof url === "string" && /^https?:\/\//.test(url) && !URL.canParse(url)) {
        add(path, `not a valid URL: ${url}`);
      }
    }
  }
  const workloads = Array.isArray(raw.workloads) ? raw.workloads : [];
  const firstIndex = new Map<string, number>();
  workloads.forEach((w, i) => {
    if (!isObject(w)) return;
    const path = joinPath("workloads", i);
    if (typeof w.name === "string") {
      const first = firstIndex.get(w.name);
      if (first === undefined) firstIndex.set(w.name, i);
      else add(joinPath(path, "name"), `duplicate name "${w.name}" (also workloads[${first}])`);
    }
    checkWorkload(w, path, isObject(raw.slo) ? raw.slo : {}, baseDir, add);
  });
}

function checkWorkload(
  w: Record<string, unknown>,
  path: string,
  topSlo: Record<string, unknown>,
  baseDir: string,
  add: (path: string, message: string) => void,
): void {
  const at = (key: string) => joinPath(path, key);
  const has = (key: string) => w[key] !== undefined;
  if (has("sweep")) {
    for (const key of ["qps", "concurrency"]) {
      if (has(key)) add(at(key), "must be absent with sweep (the sweep chooses the rates)");
    }
  } else if (has("qps") && has("concurrency")) {
    add(at("concurrency"), "qps (open loop) and concurrency (closed loop) are mutually exclusive: give one");
  } else if (!has("qps") && !has("concurrency")) {
    add(path, 'give one of qps (a number > 0, "inf" or "max"), concurrency or sweep');
  }
  if (has("concurrency") && has("max_concurrency")) {
    add(at("max_concurrency"), "applies to open loop (qps); with concurrency the loop is already capped");
  }
  if (has("concurrency") && has("arrival")) {
    add(at("arrival"), "applies to open loop (qps); a closed loop sends each request when one finishes");
  }
  if (has("duration_s") && has("num_requests")) {
    add(at("num_requests"), "duration_s and num_requests are mutually exclusive: give one");
  }
  if ((w.qps === "inf" || w.qps === "max") && has("duration_s") && !has("max_concurrency")) {
    add(
      at("duration_s"),
      `with qps "${w.qps}" every request is sent at once: give num_requests or max_concurrency`,
    );
  }
  if (
    isObject(w.warmup) &&
    Number(w.warmup.seconds !== undefined) + Number(w.warmup.requests !== undefined) !== 1
  ) {
    add(at("warmup"), "give exactly one of seconds or requests");
  }
  checkDistribution(w.prompt_len, at("prompt_len"), add);
  checkDistribution(w.gen_tokens, at("gen_tokens"), add);
  if (isObject(w.prefix) && typeof w.prefix.length === "number" && typeof w.prefix.ratio === "number") {
    const { length, ratio } = w.prefix;
    if (ratio > 0 && length === 0) add(joinPath(at("prefix"), "length"), "must be ≥ 1 when ratio > 0");
    const shortest = smallestValue(w.prompt_len);
    if (ratio > 0 && shortest !== undefined && shortest < length) {
      add(
        at("prompt_len"),
        `can be ${shortest} tokens, shorter than prefix.length ${length}: every prompt must hold the prefix` +
          (isObject(w.prompt_len) && "normal" in w.prompt_len ? " (set normal.min)" : ""),
      );
    }
  }
  checkDataset(w.dataset, at("dataset"), baseDir, add);
  if (w.stream === false) {
    const slo = { ...topSlo, ...(isObject(w.slo) ? w.slo : {}) };
    const needsStream = ["ttft_ms", "tpot_ms"].filter((k) => slo[k] !== undefined);
    if (needsStream.length > 0) {
      add(
        at("stream"),
        `must be true with the ${needsStream.join(" and ")} SLO: without streaming it cannot be measured`,
      );
    }
  }
}

function checkDistribution(d: unknown, path: string, add: (path: string, message: string) => void): void {
  if (!isObject(d)) return;
  const uniform = d.uniform;
  if (Array.isArray(uniform) && typeof uniform[0] === "number" && typeof uniform[1] === "number") {
    if (uniform[0] > uniform[1])
      add(joinPath(path, "uniform"), `min ${uniform[0]} is greater than max ${uniform[1]}`);
  }
  const normal = d.normal;
  if (isObject(normal) && typeof normal.min === "number" && typeof normal.max === "number") {
    if (normal.min > normal.max)
      add(joinPath(path, "normal"), `min ${normal.min} is greater than max ${normal.max}`);
  }
}

/** The fewest tokens a well-formed distribution can draw; undefined when it is not well-formed. */
function smallestValue(d: unknown): number | undefined {
  if (typeof d === "number") return d;
  if (!isObject(d)) return undefined;
  if (Array.isArray(d.uniform) && typeof d.uniform[0] === "number") return d.uniform[0];
  if (isObject(d.normal)) return typeof d.normal.min === "number" ? d.normal.min : 1;
  if (Array.isArray(d.list) && d.list.length > 0 && d.list.every((v) => typeof v === "number")) {
    return Math.min(...(d.list as number[]));
  }
  return undefined;
}

function checkDataset(
  d: unknown,
  path: string,
  baseDir: string,
  add: (path: string, message: string) => void,
): void {
  if (!isObject(d)) return;
  for (const key of ["sharegpt", "jsonl"]) {
    const p = d[key];
    if (typeof p !== "string" || p === "") continue;
    const file = resolve(baseDir, p);
    if (!isFile(file)) add(joinPath(path, key), `file not found: ${file}`);
  }
}

/** A `cost` value as a profile, adding its problems under `path`; a string names a profile file. */
function resolveCost(cost: unknown, baseDir: string, problems: ConfigProblem[]): CostProfile | undefined {
  if (typeof cost === "string" && cost !== "") return costFromFile(resolve(baseDir, cost), "cost", problems);
  if (!isObject(cost)) return undefined; // absent, or the schema reports its shape
  // The config schema already reports an inline cost's shape; add only the rule it cannot express.
  const extra = amortizedProblems(cost, "cost");
  problems.push(...extra);
  return extra.length === 0 && Value.Check(CostProfileFileSchema, cost) ? costProfile(cost) : undefined;
}

function costFromFile(file: string, path: string, problems: ConfigProblem[]): CostProfile | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? String(err);
    problems.push({ path, message: `cannot read cost profile ${file} (${reason})` });
    return undefined;
  }
  const parsed = parseText(text, extname(file).toLowerCase() === ".json" ? "json" : "yaml");
  const found =
    parsed.problems.length > 0
      ? parsed.problems.map((p) => ({ path, message: p.message }))
      : [
          ...schemaProblems(CostProfileFileSchema, parsed.value, path),
          ...amortizedProblems(parsed.value, path),
        ];
  problems.push(...found.map((p) => ({ path: p.path, message: `${p.message} (in ${file})` })));
  return found.length === 0 ? costProfile(parsed.value as CostProfileFile) : undefined;
}

function amortizedProblems(profile: unknown, path: string): ConfigProblem[] {
  if (!isObject(profile) || !("price" in profile)) return [];
  const power = profile.power_watts !== undefined;
  const kwh = profile.dollars_per_kwh !== undefined;
  if (power === kwh) return [];
  const missing = power ? "dollars_per_kwh" : "power_watts";
  return [
    {
      path: joinPath(path, missing),
      message: "is required with power_watts and dollars_per_kwh: give both or neither",
    },
  ];
}

// --- normalization (of a config without problems) --------------------------------------------

function normalize(file: BenchConfigFile, baseDir: string, cost: CostProfile | undefined): BenchConfig {
  const seed = file.seed ?? 0;
  const targets: Record<string, string> = {};
  const targetAuth: Record<string, { apiKeyEnv: string }> = {};
  for (const [name, target] of Object.entries(file.targets ?? {})) {
    const url = typeof target === "string" ? target : target.url;
    targets[name] = url.replace(/\/+$/, "").replace(/\/v1$/, "");
    if (typeof target !== "string" && target.api_key_env !== undefined) {
      targetAuth[name] = { apiKeyEnv: target.api_key_env };
    }
  }
  const out: BenchConfig = {
    model: file.model,
    runtimes: [...file.runtimes],
    targets,
    workloads: file.workloads.map((w, i) => workload(w, i, seed, file.slo ?? {}, baseDir)),
    seed,
  };
  if (Object.keys(targetAuth).length > 0) out.targetAuth = targetAuth;
  if (cost) out.cost = cost;
  return out;
}

function workload(
  w: WorkloadFile,
  index: number,
  topSeed: number,
  topSlo: SloFile,
  baseDir: string,
): Workload {
  const out: Workload = {
    name: w.name,
    warmup: warmup(w.warmup),
    promptLen: distribution(w.prompt_len),
    genTokens: distribution(w.gen_tokens),
    dataset: dataset(w.dataset, baseDir),
    prefix: { length: w.prefix?.length ?? 0, ratio: w.prefix?.ratio ?? 0 },
    endpoint: w.endpoint ?? "completions",
    stream: w.stream ?? true,
    arrival: arrival(w),
    slo: slo({ ...topSlo, ...w.slo }),
    seed: w.seed ?? (topSeed + index) >>> 0,
  };
  if (typeof w.qps === "number") out.qps = w.qps;
  if (w.concurrency !== undefined) out.concurrency = w.concurrency;
  if (w.max_concurrency !== undefined) out.maxConcurrency = w.max_concurrency;
  if (w.duration_s !== undefined) out.durationS = w.duration_s;
  else out.numRequests = w.num_requests ?? DEFAULT_NUM_REQUESTS;
  if (w.sweep) out.sweep = { points: w.sweep.points };
  return out;
}

function warmup(w: WorkloadFile["warmup"]): Warmup {
  if (w === undefined) return { requests: 0 };
  if (typeof w === "number") return { requests: w };
  return w.seconds !== undefined ? { seconds: w.seconds } : { requests: w.requests ?? 0 };
}

function distribution(d: DistributionFile): Distribution {
  if (typeof d === "number") return { kind: "fixed", value: d };
  if ("uniform" in d) return { kind: "uniform", min: d.uniform[0], max: d.uniform[1] };
  if ("list" in d) return { kind: "list", values: [...d.list] };
  const out: Distribution = { kind: "normal", mean: d.normal.mean, stdev: d.normal.stdev };
  if (d.normal.min !== undefined) out.min = d.normal.min;
  if (d.normal.max !== undefined) out.max = d.normal.max;
  return out;
}

function dataset(d: DatasetFile | undefined, baseDir: string): Dataset {
  if (d === undefined || d === "synthetic") return { kind: "synthetic" };
  if ("sharegpt" in d) return { kind: "sharegpt", path: resolve(baseDir, d.sharegpt) };
  return { kind: "jsonl", path: resolve(baseDir, d.jsonl), field: d.field ?? "prompt" };
}

function arrival(w: WorkloadFile): Arrival {
  const a = w.arrival;
  if (a === undefined || a === "poisson") return { kind: "poisson" };
  if (a === "constant") return { kind: "constant" };
  return { kind: "gamma", burstiness: a.gamma.burstiness };
}

function slo(s: SloFile): Slo {
  const out: Slo = {};
  if (s.ttft_ms !== undefined) out.ttftMs = s.ttft_ms;
  if (s.tpot_ms !== undefined) out.tpotMs = s.tpot_ms;
  if (s.e2e_ms !== undefined) out.e2eMs = s.e2e_ms;
  return out;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
