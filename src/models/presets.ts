/**
 * Architecture presets: the exact shapes of real models (from their Hugging Face config.json), so a
 * synthetic model does the arithmetic and moves the bytes the real one does.
 */

/** Llama 3 style RoPE frequency scaling (`rope_scaling.rope_type = "llama3"` in config.json). */
export interface Llama3RopeScaling {
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalContextLength: number;
}

export interface Preset {
  name: string;
  /** GGUF `general.architecture`; also the prefix of the architecture's metadata keys. */
  architecture: "llama" | "qwen2";
  /** What the shapes are copied from. */
  description: string;
  layers: number;
  hidden: number;
  heads: number;
  kvHeads: number;
  ffn: number;
  /** Rows of the embedding matrix; the tokenizer's vocabulary is padded to exactly this. */
  vocab: number;
  contextLength: number;
  ropeTheta: number;
  rmsEps: number;
  /** Output projection shares token_embd (no output.weight tensor). */
  tiedEmbeddings: boolean;
  /** q/k/v projections carry biases (qwen2 does). */
  qkvBias: boolean;
  ropeScaling?: Llama3RopeScaling;
}

const LLAMA3_VOCAB = 128256;

export const PRESETS: readonly Preset[] = [
  {
    name: "tiny",
    architecture: "llama",
    description: "test model: 2 layers, full cl100k vocabulary, a few MB",
    layers: 2,
    hidden: 128,
    heads: 4,
    kvHeads: 2,
    ffn: 384,
    // cl100k's 100256 tokens plus the special tokens, rounded up to a multiple of 128.
    vocab: 100352,
    contextLength: 2048,
    ropeTheta: 500000,
    rmsEps: 1e-5,
    tiedEmbeddings: true,
    qkvBias: false,
  },
  {
    name: "llama-100m",
    architecture: "llama",
    description: "~100M-parameter Llama 3 shape for bandwidth-bound decode measurements",
    layers: 12,
    hidden: 512,
    heads: 8,
    kvHeads: 4,
    ffn: 1536,
    vocab: LLAMA3_VOCAB,
    contextLength: 8192,
    ropeTheta: 500000,
    rmsEps: 1e-5,
    tiedEmbeddings: true,
    qkvBias: false,
  },
  {
    name: "qwen2.5-0.5b",
    architecture: "qwen2",
    description: "Qwen/Qwen2.5-0.5B shapes",
    layers: 24,
    hidden: 896,
    heads: 14,
    kvHeads: 2,
    ffn: 4864,
    vocab: 151936,
    contextLength: 32768,
    ropeTheta: 1000000,
    rmsEps: 1e-6,
    tiedEmbeddings: true,
    qkvBias: true,
  },
  {
    name: "llama-3.2-1b",
    architecture: "llama",
    description: "meta-llama/Llama-3.2-1B shapes",
    layers: 16,
    hidden: 2048,
    heads: 32,
    kvHeads: 8,
    ffn: 8192,
    vocab: LLAMA3_VOCAB,
    contextLength: 131072,
    ropeTheta: 500000,
    rmsEps: 1e-5,
    tiedEmbeddings: true,
    qkvBias: false,
    ropeScaling: { factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalContextLength: 8192 },
  },
  {
    name: "llama-3.1-8b",
    architecture: "llama",
    description: "meta-llama/Llama-3.1-8B shapes",
    layers: 32,
    hidden: 4096,
    heads: 32,
    kvHeads: 8,
    ffn: 14336,
    vocab: LLAMA3_VOCAB,
    contextLength: 131072,
    ropeTheta: 500000,
    rmsEps: 1e-5,
    tiedEmbeddings: false,
    qkvBias: false,
    ropeScaling: { factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalContextLength: 8192 },
  },
];

export const PRESET_NAMES: readonly string[] = PRESETS.map((p) => p.name);

export function findPreset(name: string): Preset | undefined {
  return PRESETS.find((p) => p.name === name);
}

export function headDim(p: Preset): number {
  return p.hidden / p.heads;
}
