/**
 * Loads a workload config (YAML or JSON) into the normalized `BenchConfig` of types.ts, stage by
 * stage: the text is read and parsed (config-text.ts), then one pass finds every problem — schema
 * violations (config-schema.ts, explained by schema-problems.ts), cross-field rules and missing
 * files (config-check.ts), the cost profile's (cost-profile.ts) — and reports them all in one
 * `ConfigError`; only a config without problems is normalized (config-normalize.ts), with the
 * defaults docs/workloads.md lists.
 */
import { dirname, extname, resolve } from "node:path";
import { crossCheck } from "./config-check.js";
import { normalize } from "./config-normalize.js";
import { type BenchConfigFile, BenchConfigFileSchema, type WorkloadFile } from "./config-schema.js";
import { ConfigError, parseText, readText } from "./config-text.js";
import { resolveCost } from "./cost-profile.js";
import { type ConfigProblem, isPlainObject, schemaProblems } from "./schema-problems.js";
import type { BenchConfig, Workload } from "./types.js";

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
  const cost = isPlainObject(raw) ? resolveCost(raw.cost, baseDir, problems) : undefined;
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

/**
 * Problems ordered as the file reads: by top-level key as written, then by workload; schema
 * problems stay before cross-field ones within a workload.
 */
function inFileOrder(problems: ConfigProblem[], raw: unknown): ConfigProblem[] {
  const keys = isPlainObject(raw) ? Object.keys(raw) : [];
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
