/**
 * Writes a synthetic model: a preset's tensor plan, metadata and vocabulary, and seeded weights,
 * through the streaming GGUF writer. Same spec, same bytes.
 */
import { encodeHeader, type GgufTensorSource, type GgufWriteResult, writeGguf } from "./gguf-writer.js";
import { buildMetadata } from "./metadata.js";
import type { Preset } from "./presets.js";
import type { Quant } from "./quantize.js";
import { alignUp, planTensors, TENSOR_ALIGNMENT, tensorDataBytes } from "./tensor-plan.js";
import { buildVocabulary, CL100K_GGUF_STRING_BYTES, type Vocabulary, vocabularyStub } from "./vocab.js";
import { tensorChunks } from "./weights.js";

/**
 * Bumped whenever the bytes written for a spec change (weights, layout, metadata, vocabulary
 * handling): it is part of the cache key, so old cached files are not reused.
 */
export const WRITER_VERSION = 1;

export interface SyntheticSpec {
  preset: Preset;
  quant: Quant;
  seed: number;
  contextLength: number;
}

function layout(spec: SyntheticSpec, vocab: Vocabulary) {
  const plan = planTensors(spec.preset, spec.quant);
  const tensors: GgufTensorSource[] = plan.map((t) => ({
    name: t.name,
    dims: t.dims,
    type: t.type,
    bytes: t.bytes,
    chunks: () => tensorChunks(t, spec.preset, spec.seed),
  }));
  const metadata = buildMetadata({ ...spec, vocab, writerVersion: WRITER_VERSION });
  return { plan, tensors, metadata };
}

/** Writes the model to `path` (which must not exist yet) and fsyncs it. */
export function writeSyntheticModel(
  spec: SyntheticSpec,
  path: string,
  onProgress?: (written: number, total: number) => void,
): Promise<GgufWriteResult> {
  const { tensors, metadata } = layout(spec, buildVocabulary(spec.preset.vocab));
  return writeGguf(path, metadata, tensors, onProgress);
}

/** Header bytes per preset: quant, seed and context length are fixed-size values in it. */
const headerBytes = new WeakMap<Preset, number>();

/**
 * File size without deriving the vocabulary: the header is encoded with a stub vocabulary and the
 * known size of cl100k_base's strings added back.
 */
export function estimateFileSize(preset: Preset, quant: Quant): number {
  let header = headerBytes.get(preset);
  if (header === undefined) {
    const spec = { preset, quant, seed: 0, contextLength: preset.contextLength };
    const { tensors, metadata } = layout(spec, vocabularyStub(preset.vocab));
    header = encodeHeader(metadata, tensors, false).length + CL100K_GGUF_STRING_BYTES;
    headerBytes.set(preset, header);
  }
  return alignUp(header, TENSOR_ALIGNMENT) + tensorDataBytes(planTensors(preset, quant));
}
