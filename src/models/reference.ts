/**
 * Model references as users write them: `synthetic:<preset>[?quant=..&seed=..&ctx=..]` or a path
 * to a GGUF file. Parsing is pure (no file access); every mistake is an `invalid_model_ref`
 * TokenForgeError on field "model" whose message says what would have been valid.
 */
import { resolve } from "node:path";
import { TokenForgeError } from "../errors.js";
import { findPreset, PRESET_NAMES } from "./presets.js";
import { isQuant, QUANTS, type Quant } from "./quantize.js";

export const SYNTHETIC_PREFIX = "synthetic:";
export const DEFAULT_QUANT: Quant = "q8_0";
export const DEFAULT_SEED = 0;
const OPTIONS = ["quant", "seed", "ctx"] as const;
const MAX_SEED = 0xffffffff;
/** llama.cpp stores context lengths as u32; beyond 16M tokens is surely a typo. */
const MAX_CTX = 1 << 24;

export type ModelRef =
  | {
      kind: "synthetic";
      /** The reference as given. */
      ref: string;
      preset: string;
      quant: Quant;
      seed: number;
      /** The `ctx` option, else the preset's context length. */
      contextLength: number;
    }
  | { kind: "file"; ref: string /** Absolute. */; path: string };

export function invalidRef(message: string): TokenForgeError {
  return new TokenForgeError("invalid_model_ref", message, { field: "model" });
}

const presetList = (): string => PRESET_NAMES.join(", ");

/** Parses a model reference; relative paths resolve against `cwd`. */
export function parseModelRef(ref: string, cwd: string = process.cwd()): ModelRef {
  if (typeof ref !== "string" || ref.trim() === "") {
    throw invalidRef(
      `model reference is empty: use synthetic:<preset> (presets: ${presetList()}) or a path to a .gguf file`,
    );
  }
  if (!ref.startsWith(SYNTHETIC_PREFIX)) return { kind: "file", ref, path: resolve(cwd, ref) };

  const body = ref.slice(SYNTHETIC_PREFIX.length);
  const q = body.indexOf("?");
  const name = q < 0 ? body : body.slice(0, q);
  const preset = findPreset(name);
  if (!preset) {
    throw invalidRef(`unknown synthetic preset "${name}" in "${ref}"; valid presets: ${presetList()}`);
  }
  const out: Extract<ModelRef, { kind: "synthetic" }> = {
    kind: "synthetic",
    ref,
    preset: preset.name,
    quant: DEFAULT_QUANT,
    seed: DEFAULT_SEED,
    contextLength: preset.contextLength,
  };
  if (q < 0) return out;

  const seen = new Set<string>();
  for (const [key, value] of new URLSearchParams(body.slice(q + 1))) {
    if (!(OPTIONS as readonly string[]).includes(key)) {
      throw invalidRef(`unknown option "${key}" in "${ref}"; valid options: ${OPTIONS.join(", ")}`);
    }
    if (seen.has(key)) throw invalidRef(`option "${key}" given twice in "${ref}"`);
    seen.add(key);
    if (key === "quant") {
      const quant = value.toLowerCase();
      if (!isQuant(quant)) {
        throw invalidRef(`unknown quant "${value}" in "${ref}"; valid quants: ${QUANTS.join(", ")}`);
      }
      out.quant = quant;
    } else if (key === "seed") {
      out.seed = parseInteger(value, 0, MAX_SEED, "seed", ref);
    } else {
      out.contextLength = parseInteger(value, 1, MAX_CTX, "ctx", ref);
    }
  }
  return out;
}

function parseInteger(value: string, min: number, max: number, key: string, ref: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw invalidRef(`option ${key}="${value}" in "${ref}" must be an integer from ${min} to ${max}`);
  }
  return n;
}

/** The canonical reference string for a synthetic spec (defaults spelled out). */
export function syntheticRef(preset: string, quant: Quant, seed: number, contextLength: number): string {
  return `${SYNTHETIC_PREFIX}${preset}?quant=${quant}&seed=${seed}&ctx=${contextLength}`;
}
