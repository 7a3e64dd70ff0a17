/**
 * The tensors of a preset at a quant: llama.cpp's names, GGUF shapes and ggml types, how each is
 * initialised, and from that the parameter count and the exact size of the tensor data.
 *
 * GGUF lists dimensions innermost first: ne[0] is the row length, i.e. a projection's input
 * features, so attn_q.weight of Llama-3.1-8B is [4096, 4096] and ffn_down.weight is [14336, 4096].
 */
import { headDim, type Preset } from "./presets.js";
import { encodedBytes, GgmlType, QUANT_TYPE, type Quant } from "./quantize.js";

/** How a tensor's values are made. */
export type TensorInit =
  /** Uniform in [-a, a] with a = sqrt(3 / fanIn): standard deviation 1/sqrt(fanIn). */
  | { kind: "uniform"; fanIn: number }
  /** Small uniform biases. */
  | { kind: "bias" }
  /** RMSNorm gains: 1.0 keeps the normalised activations at unit scale. */
  | { kind: "ones" }
  /** Llama 3 RoPE frequency factors computed from the preset, as convert_hf_to_gguf.py does. */
  | { kind: "rope-freqs" };

export interface PlannedTensor {
  name: string;
  /** GGUF order: innermost (row length) first. */
  dims: number[];
  type: GgmlType;
  init: TensorInit;
  elements: number;
  bytes: number;
  /** False for tensors derived from the config rather than trained (rope_freqs). */
  isParameter: boolean;
}

/** GGUF `general.alignment`: every tensor's data starts at a multiple of this. */
export const TENSOR_ALIGNMENT = 32;

export function planTensors(preset: Preset, quant: Quant): PlannedTensor[] {
  const matType = QUANT_TYPE[quant];
  const hd = headDim(preset);
  const qDim = preset.heads * hd;
  const kvDim = preset.kvHeads * hd;
  const out: PlannedTensor[] = [];
  const add = (name: string, dims: number[], type: GgmlType, init: TensorInit, isParameter = true): void => {
    const elements = dims.reduce((a, b) => a * b, 1);
    out.push({ name, dims, type, init, elements, bytes: encodedBytes(type, elements), isParameter });
  };
  // Matrices take the quant; 1-D tensors (norms, biases) stay F32 as llama.cpp's quantizer keeps them.
  const matrix = (name: string, inFeatures: number, outFeatures: number): void =>
    add(name, [inFeatures, outFeatures], matType, { kind: "uniform", fanIn: inFeatures });
  const norm = (name: string, n: number): void => add(name, [n], GgmlType.F32, { kind: "ones" });
  const bias = (name: string, n: number): void => add(name, [n], GgmlType.F32, { kind: "bias" });

  matrix("token_embd.weight", preset.hidden, preset.vocab);
  if (preset.ropeScaling) {
    add("rope_freqs.weight", [hd / 2], GgmlType.F32, { kind: "rope-freqs" }, false);
  }
  for (let i = 0; i < preset.layers; i++) {
    const b = `blk.${i}`;
    norm(`${b}.attn_norm.weight`, preset.hidden);
    matrix(`${b}.attn_q.weight`, preset.hidden, qDim);
    if (preset.qkvBias) bias(`${b}.attn_q.bias`, qDim);
    matrix(`${b}.attn_k.weight`, preset.hidden, kvDim);
    if (preset.qkvBias) bias(`${b}.attn_k.bias`, kvDim);
    matrix(`${b}.attn_v.weight`, preset.hidden, kvDim);
    if (preset.qkvBias) bias(`${b}.attn_v.bias`, kvDim);
    matrix(`${b}.attn_output.weight`, qDim, preset.hidden);
    norm(`${b}.ffn_norm.weight`, preset.hidden);
    matrix(`${b}.ffn_gate.weight`, preset.hidden, preset.ffn);
    matrix(`${b}.ffn_up.weight`, preset.hidden, preset.ffn);
    matrix(`${b}.ffn_down.weight`, preset.ffn, preset.hidden);
  }
  norm("output_norm.weight", preset.hidden);
  if (!preset.tiedEmbeddings) matrix("output.weight", preset.hidden, preset.vocab);
  return out;
}

/** Trained parameters, counted as Hugging Face counts them (tied embeddings once). */
export function parameterCount(preset: Preset): number {
  return planTensors(preset, "f32")
    .filter((t) => t.isParameter)
    .reduce((sum, t) => sum + t.elements, 0);
}

export function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}

/** Bytes of the tensor data section: each tensor padded to the alignment. */
export function tensorDataBytes(plan: readonly PlannedTensor[]): number {
  return plan.reduce((sum, t) => sum + alignUp(t.bytes, TENSOR_ALIGNMENT), 0);
}

/** Llama 3 RoPE frequency factors (one per rotated pair). */
export function ropeFreqFactors(preset: Preset): Float32Array {
  const s = preset.ropeScaling;
  const hd = headDim(preset);
  const out = new Float32Array(hd / 2).fill(1);
  if (!s) return out;
  const lowFreqWavelen = s.originalContextLength / s.lowFreqFactor;
  const highFreqWavelen = s.originalContextLength / s.highFreqFactor;
  for (let i = 0; i < hd / 2; i++) {
    const freq = 1 / preset.ropeTheta ** ((2 * i) / hd);
    const wavelen = (2 * Math.PI) / freq;
    if (wavelen < highFreqWavelen) out[i] = 1;
    else if (wavelen > lowFreqWavelen) out[i] = s.factor;
    else {
      const smooth =
        (s.originalContextLength / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
      out[i] = 1 / ((1 - smooth) / s.factor + smooth);
    }
  }
  return out;
}
