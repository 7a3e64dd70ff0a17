/**
 * From a model reference to a GGUF file on disk: synthetic references are written into the cache
 * (or found there), paths are checked and their header read.
 */
import { stat } from "node:fs/promises";
import type { ResolvedModel, TokenizerInfo } from "../spec/model.js";
import { ensureCached, type ProgressFn } from "./cache.js";
import { GgufFormatError, type GgufMetadataValue, readGgufHeader } from "./gguf-reader.js";
import { findPreset, PRESET_NAMES, PRESETS, type Preset } from "./presets.js";
import { QUANTS, type Quant } from "./quantize.js";
import { invalidRef, parseModelRef } from "./reference.js";
import { estimateFileSize } from "./synthesize.js";
import { parameterCount } from "./tensor-plan.js";
import { tokenizerInfo } from "./vocab.js";

export interface ResolveOptions {
  /** Where synthetic models are cached (TokenForgeEnv.modelCacheDir). */
  cacheDir: string;
  /** Bytes written and total while a synthetic model is being written (not called on a cache hit). */
  onProgress?: ProgressFn;
  /** Base for relative paths; defaults to process.cwd(). */
  cwd?: string;
}

/** A preset's shape with its parameter count and exact file size at each quant. */
export type PresetSummary = Preset & {
  parameterCount: number;
  /** Exact file size at each quant (any seed and ctx give the same size). */
  sizeBytes: Record<Quant, number>;
};

export function listPresets(): PresetSummary[] {
  return PRESETS.map((p) => ({
    ...p,
    parameterCount: parameterCount(p),
    sizeBytes: Object.fromEntries(QUANTS.map((q) => [q, estimateFileSize(p, q)])) as Record<Quant, number>,
  }));
}

/**
 * Resolves a model reference to a file. The model is served under the reference as given (`id`),
 * as vLLM serves a model under its `--model` argument.
 */
export async function resolveModel(ref: string, opts: ResolveOptions): Promise<ResolvedModel> {
  const parsed = parseModelRef(ref, opts.cwd);
  if (parsed.kind === "synthetic") {
    const preset = findPreset(parsed.preset)!;
    const spec = { preset, quant: parsed.quant, seed: parsed.seed, contextLength: parsed.contextLength };
    const cached = await ensureCached(opts.cacheDir, spec, opts.onProgress);
    return {
      ref,
      id: ref,
      path: cached.path,
      sizeBytes: cached.sizeBytes,
      architecture: preset.architecture,
      contextLength: spec.contextLength,
      synthetic: {
        preset: preset.name,
        quant: spec.quant,
        seed: spec.seed,
        parameterCount: parameterCount(preset),
        sha256: cached.sha256,
      },
      tokenizer: tokenizerInfo(),
    };
  }
  return resolveFile(ref, parsed.path);
}

const validRefs = (): string =>
  `use a path to a .gguf file or synthetic:<preset>[?quant=..&seed=..&ctx=..] (presets: ${PRESET_NAMES.join(", ")})`;

async function resolveFile(ref: string, path: string): Promise<ResolvedModel> {
  let size: number;
  try {
    const s = await stat(path);
    if (!s.isFile()) throw invalidRef(`model path "${ref}" is not a file; ${validRefs()}`);
    size = s.size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      throw invalidRef(`model file "${ref}" does not exist (${path}); ${validRefs()}`);
    }
    throw err;
  }
  let metadata: Map<string, GgufMetadataValue>;
  try {
    metadata = (await readGgufHeader(path)).metadata;
  } catch (err) {
    if (err instanceof GgufFormatError) throw invalidRef(`model file "${ref}" is unusable: ${err.message}`);
    throw err;
  }
  const architecture = metadata.get("general.architecture");
  if (typeof architecture !== "string") {
    throw invalidRef(`model file "${ref}" has no general.architecture in its GGUF metadata`);
  }
  const ctx = metadata.get(`${architecture}.context_length`);
  const contextLength = typeof ctx === "bigint" ? Number(ctx) : ctx;
  if (typeof contextLength !== "number" || !Number.isInteger(contextLength) || contextLength <= 0) {
    throw invalidRef(`model file "${ref}" has no usable ${architecture}.context_length in its GGUF metadata`);
  }
  const resolved: ResolvedModel = {
    ref,
    id: ref,
    path,
    sizeBytes: size,
    architecture,
    contextLength,
  };
  const tokenizer = recordedTokenizer(metadata);
  if (tokenizer) resolved.tokenizer = tokenizer;
  return resolved;
}

/** The tokenizer provenance TokenForge records in files it writes, if present. */
function recordedTokenizer(metadata: Map<string, GgufMetadataValue>): TokenizerInfo | undefined {
  const name = metadata.get("tokenforge.tokenizer.name");
  const origin = metadata.get("tokenforge.tokenizer.origin");
  const license = metadata.get("tokenforge.tokenizer.license");
  if (typeof name === "string" && typeof origin === "string" && typeof license === "string") {
    return { name, origin, license };
  }
  return undefined;
}
