/**
 * Models without downloads. This folder owns model references (`synthetic:<preset>?...` or a GGUF
 * path), the architecture presets, and the synthetic GGUF files written for them: tensor plan,
 * seeded weights in F32/F16/Q8_0/Q4_0, the cl100k_base-derived tokenizer, the streaming GGUF
 * writer, and the content-addressed cache. See docs/models.md.
 *
 *   reference.ts   parse a model reference          presets.ts      real models' shapes
 *   resolve.ts     reference -> file on disk        tensor-plan.ts  tensors, param count, sizes
 *   cache.ts       content-addressed, atomic        weights.ts      seeded values per tensor
 *   synthesize.ts  spec -> GGUF file                quantize.ts     ggml encodings
 *   metadata.ts    llama.cpp's GGUF keys            prng.ts         xoshiro128**
 *   vocab.ts       cl100k_base -> GGUF tokenizer    merges.ts       BPE merges from tiktoken ranks
 *   gguf-writer.ts streaming GGUF v3 writer         gguf-reader.ts  metadata of existing files
 */
export { type CachedModel, cacheFileName, ensureCached, writeAtomically } from "./cache.js";
export { GgufFormatError, type GgufHeader, readGgufHeader } from "./gguf-reader.js";
export { findPreset, PRESET_NAMES, PRESETS, type Preset } from "./presets.js";
export { isQuant, QUANTS, type Quant } from "./quantize.js";
export { type ModelRef, parseModelRef, SYNTHETIC_PREFIX, syntheticRef } from "./reference.js";
export { listPresets, type PresetSummary, type ResolveOptions, resolveModel } from "./resolve.js";
export { estimateFileSize, type SyntheticSpec, WRITER_VERSION, writeSyntheticModel } from "./synthesize.js";
export { parameterCount, planTensors } from "./tensor-plan.js";
