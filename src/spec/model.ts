/** Types only: a model reference resolved to a GGUF file on disk. */

/** Origin and license of the vocabulary a model's tokenizer uses. */
export interface TokenizerInfo {
  /** e.g. "cl100k_base (byte-level BPE)". */
  name: string;
  /** Where the vocabulary came from (package and version). */
  origin: string;
  /** SPDX license identifier of the vocabulary. */
  license: string;
}

/** A model ready to load: where it is and what it is. */
export interface ResolvedModel {
  /** The reference as the user gave it, e.g. "synthetic:tiny?quant=q8_0" or "./m.gguf". */
  ref: string;
  /** The name the model is served under (OpenAI `model` field). */
  id: string;
  /** Absolute path of the GGUF file. */
  path: string;
  sizeBytes: number;
  /** GGUF `general.architecture`, e.g. "llama" or "qwen2". */
  architecture: string;
  /** Context length the model was written with (GGUF `<arch>.context_length`). */
  contextLength: number;
  /** Set for synthetic models. */
  synthetic?: {
    preset: string;
    quant: string;
    seed: number;
    parameterCount: number;
    /** sha256 of the file contents (the cache key is derived from the spec, this from the bytes). */
    sha256: string;
  };
  tokenizer?: TokenizerInfo;
}
