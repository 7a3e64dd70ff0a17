/**
 * Types only: an inference engine loaded in this process, as the worker drives it.
 * Engines that run in another process (vLLM, a Python worker) are reached over the worker
 * protocol instead and do not implement this.
 */

/** One chat message in the OpenAI shape. */
export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/** What to generate from: raw text, or chat messages rendered by the model's chat template. */
export type PromptInput =
  /** Plain text; the model's BOS token is added unless addSpecialTokens is false. */
  { kind: "text"; text: string; addSpecialTokens?: boolean } | { kind: "messages"; messages: ChatMessage[] };

/** One generation request, already validated. */
export interface GenerateRequest {
  prompt: PromptInput;
  /** Prompt tokens, when the caller already tokenized the prompt (saves a second pass). */
  promptTokens?: number[];
  maxTokens: number;
  temperature: number;
  topP: number;
  /** Sampling seed; undefined lets the engine choose one. */
  seed: number | undefined;
  stop: string[];
  /** Keep generating past end-of-generation tokens until maxTokens. */
  ignoreEos: boolean;
  /** Aborting frees the request's sequence at the next token boundary. */
  signal: AbortSignal;
}

export type FinishReason = "length" | "stop" | "abort";

/** Token counts; undefined means unknown, never zero. */
export interface Usage {
  promptTokens: number;
  completionTokens: number;
}

/** What an engine yields while it generates. */
export type StreamEvent =
  /** The request left the queue and holds a sequence. */
  | { type: "admitted" }
  /** New text; `tokens` is how many generated tokens it covers (text may be "" for special tokens). */
  | { type: "text"; text: string; tokens: number }
  | { type: "finish"; reason: FinishReason; usage: Usage };

/** Live numbers an engine reports for metrics and /health. */
export interface EngineStats {
  running: number;
  waiting: number;
  /** Fraction of KV-cache cells in use, 0..1. */
  kvCacheUsage: number;
  /**
   * Decode steps since the engine loaded, by how many sequences each one processed together:
   * `{1: 120, 8: 95}` is 120 steps of one sequence and 95 of eight. Absent where the engine does
   * not record its batches.
   */
  decodeSteps?: Record<number, number>;
}

/** Static description of a loaded engine, shown by /health and stored with runs. */
export interface EngineInfo {
  runtime: string;
  engineVersion: string;
  model: string;
  modelPath: string;
  /** Context length per sequence (the longest prompt + completion one request may use). */
  contextLength: number;
  /** Number of token ids the model knows (ids are 0..vocabSize-1). */
  vocabSize: number;
  /** How many requests are generated concurrently in one batch. */
  parallel: number;
  threads: number;
  /** "cpu", "cuda", "vulkan", "metal". */
  device: string;
  /** Anything else worth recording (batch size, flash attention, …). */
  details: Record<string, string | number | boolean>;
}

/** An engine loaded in this process. */
export interface Engine {
  readonly info: EngineInfo;
  tokenize(prompt: PromptInput): number[];
  /** Streams one generation. Errors thrown before the first event are request errors. */
  generate(request: GenerateRequest): AsyncIterable<StreamEvent>;
  stats(): EngineStats;
  close(): Promise<void>;
}
