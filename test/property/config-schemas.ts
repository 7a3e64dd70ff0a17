/**
 * The benchmark config loader's inputs as generators: config files (YAML and JSON text, valid,
 * mutated, with anchors and aliases, nested past the limit, not YAML at all) and already parsed
 * values (a request body's), and the property the loader must hold: a normalized config or a
 * `ConfigError` (400, exit 2) with a message of bounded size, never any other exception. Shared by
 * the property test and bench/fuzz.ts.
 */
import fc from "fast-check";
import { stringify } from "yaml";
import { configFromObject, parseConfig } from "../../src/bench/config.js";
import { isTokenForgeError } from "../../src/errors.js";
import { anyJson, anyString, deepJson, mutated, notJson } from "./inputs.js";

const workload = () =>
  fc.record(
    {
      name: fc.constantFrom("w", "short", "long-1"),
      qps: fc.oneof(fc.double({ min: 0.1, max: 50, noNaN: true }), fc.constant("inf")),
      num_requests: fc.integer({ min: 1, max: 50 }),
      prompt_len: fc.oneof(fc.integer({ min: 1, max: 512 }), fc.record({ uniform: fc.constant([4, 16]) })),
      gen_tokens: fc.integer({ min: 1, max: 64 }),
      warmup: fc.integer({ min: 0, max: 4 }),
      endpoint: fc.constantFrom("completions", "chat"),
      stream: fc.boolean(),
      seed: fc.integer({ min: 0, max: 1000 }),
    },
    { requiredKeys: ["name", "prompt_len", "gen_tokens", "qps"] },
  );

const config = () =>
  fc.record(
    {
      model: fc.constantFrom("synthetic:tiny", "m"),
      runtimes: fc.constant(["sim"]),
      workloads: fc.array(workload(), { minLength: 1, maxLength: 2 }),
      seed: fc.integer({ min: 0, max: 1000 }),
      slo: fc.record({ ttft_ms: fc.integer({ min: 1, max: 1000 }) }),
      stall_timeout_s: fc.integer({ min: 1, max: 60 }),
    },
    { requiredKeys: ["model", "runtimes", "workloads"] },
  );
const KEYS = [
  "model",
  "runtimes",
  "workloads",
  "seed",
  "targets",
  "cost",
  "slo",
  "stall_timeout_s",
  "max_error_fraction",
];

/** A config value: valid, mutated, or any JSON. */
export const configValues = (): fc.Arbitrary<unknown> =>
  fc.oneof(
    { weight: 2, arbitrary: config() },
    { weight: 6, arbitrary: mutated(config(), KEYS) },
    { weight: 2, arbitrary: anyJson() },
  );

/** YAML with anchors and aliases: a few (read), many nested (an alias bomb), or unresolved. */
const aliasYaml = (): fc.Arbitrary<string> =>
  fc.oneof(
    fc.integer({ min: 2, max: 9 }).map((levels) => {
      const lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"];
      for (let i = 1; i < levels; i++)
        lines.push(
          `a${i}: &a${i} [${Array(9)
            .fill(`*a${i - 1}`)
            .join(", ")}]`,
        );
      return `model: m\nruntimes: [sim]\n${lines.join("\n")}\n`;
    }),
    anyString().map((name) => `model: m\nruntimes: *${name.replace(/[^A-Za-z0-9]/g, "") || "x"}\n`),
    fc.constant(
      "base: &w {name: w, qps: 1, prompt_len: 4, gen_tokens: 2}\nmodel: m\nruntimes: [sim]\nworkloads: [*w]\n",
    ),
  );

/** Config file text and the format it is read as. */
export const configTexts = (): fc.Arbitrary<{ text: string; format: "yaml" | "json" }> =>
  fc.oneof(
    {
      weight: 4,
      arbitrary: configValues().map((v) => ({ text: stringify(v ?? null), format: "yaml" as const })),
    },
    {
      weight: 3,
      arbitrary: configValues().map((v) => ({ text: JSON.stringify(v) ?? "null", format: "json" as const })),
    },
    { weight: 2, arbitrary: aliasYaml().map((text) => ({ text, format: "yaml" as const })) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(deepJson(), fc.constantFrom("yaml" as const, "json" as const))
        .map(([text, format]) => ({ text, format })),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(notJson(), fc.constantFrom("yaml" as const, "json" as const))
        .map(([text, format]) => ({ text, format })),
    },
  );

const MAX_MESSAGE = 20_000;

/** Runs the loader on one input; throws (with the input) when the property does not hold. */
export function checkConfigInput(load: () => unknown, what: () => string): "ok" | "refused" {
  try {
    load();
    return "ok";
  } catch (err) {
    const where = () => `\n  input: ${what().slice(0, 400)}`;
    if (!isTokenForgeError(err) || err.status !== 400)
      throw new Error(`the loader threw ${String(err)} (not a 400 config error)${where()}`, { cause: err });
    if (err.message.length > MAX_MESSAGE)
      throw new Error(`a config error of ${err.message.length} characters${where()}`);
    return "refused";
  }
}

/** The two ways in: a file's text, and a value already parsed (a request body). */
export const configChecks = {
  text: (i: { text: string; format: "yaml" | "json" }) =>
    checkConfigInput(
      () => parseConfig(i.text, { format: i.format }),
      () => `${i.format} ${JSON.stringify(i.text)}`,
    ),
  value: (v: unknown) =>
    checkConfigInput(
      () => configFromObject(v),
      () => JSON.stringify(v) ?? String(v),
    ),
};
