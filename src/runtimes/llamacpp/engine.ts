/**
 * llama.cpp in this process through node-llama-cpp. One context holds `parallel` sequences;
 * node-llama-cpp batches every sequence with pending work into one decode call, so a new request
 * joins the running batch at the next step instead of waiting for the others to finish. The
 * engine chooses what goes into each call itself (the `Stepper` in stepper.ts), and so counts how many
 * sequences each carried.
 */
import {
  type ChatHistoryItem,
  type ChatWrapper,
  type Llama,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaModel,
  resolveChatWrapper,
  type Token,
} from "node-llama-cpp";
import { TokenForgeError } from "../../errors.js";
import type {
  Engine,
  EngineInfo,
  EngineStats,
  FinishReason,
  GenerateRequest,
  PromptInput,
  StreamEvent,
} from "../../spec/engine.js";
import type { EngineOptions } from "../../spec/runtime.js";
import { Slots } from "../slots.js";
import { StopMatcher } from "../stop-matcher.js";
import { type LoadedBinary, loadLlama } from "./binary.js";
import { IncrementalDetokenizer } from "./detokenizer.js";
import { Stepper, sequenceKey } from "./stepper.js";

/** Context length per sequence when neither the user nor a small model says otherwise. */
const DEFAULT_MAX_CONTEXT = 4096;

/**
 * Tokens per decode call: llama-server's physical batch (its `--ubatch-size` default). node-llama-cpp
 * makes llama.cpp's logical and physical batch the same size, so this one number sets both the
 * largest prompt chunk a step carries and the size of llama.cpp's compute buffers, which are then
 * the same as llama-server's (BENCHMARKS.md, "llama-server side by side").
 */
const DEFAULT_BATCH_SIZE = 512;

/**
 * Threads when the user does not choose: one. Measured on a 2-core machine (see BENCHMARKS.md,
 * "thread count"): decode with 2 threads was no faster with the machine idle and collapsed when
 * any other process (the benchmark client, a second worker) wanted a core, because llama.cpp's
 * threads spin-wait on each other at every layer.
 */
export function defaultThreads(cpuMathCores: number): number {
  return cpuMathCores >= 8 ? Math.min(cpuMathCores - 2, 16) : 1;
}

export async function createLlamaCppEngine(options: EngineOptions): Promise<Engine> {
  const { llama, binary } = await loadLlama(options.gpu === false ? false : "auto", options.binary ?? "auto");
  try {
    return await LlamaCppEngine.load(llama, options, binary);
  } catch (err) {
    await llama.dispose();
    throw err;
  }
}

/** Bytes of the F16 KV cache for `cells` token positions, from the model's shape. */
function kvCacheBytes(model: LlamaModel, cells: number): number {
  const meta = model.fileInfo.architectureMetadata as {
    block_count?: number;
    embedding_length?: number;
    attention?: { head_count?: number; head_count_kv?: number; key_length?: number; value_length?: number };
  };
  const layers = meta.block_count ?? 0;
  const heads = meta.attention?.head_count ?? 1;
  const kvHeads = meta.attention?.head_count_kv ?? heads;
  const headDim = (meta.embedding_length ?? 0) / heads;
  const k = meta.attention?.key_length ?? headDim;
  const v = meta.attention?.value_length ?? headDim;
  return layers * cells * kvHeads * (k + v) * 2;
}

/** Rows of the token embedding: the ids the model accepts. */
function vocabSizeOf(model: LlamaModel): number {
  const embd = model.fileInfo.fullTensorInfo?.find((t) => t.name === "token_embd.weight");
  const rows = embd?.dimensions[1];
  if (rows === undefined) throw new Error("the model has no token_embd.weight tensor");
  return Number(rows);
}

interface PooledSequence {
  sequence: LlamaContextSequence;
  id: number;
  /** Resolves true once the cache of its last request is cleared, false if that failed. */
  cleared: Promise<boolean>;
}

class LlamaCppEngine implements Engine {
  private readonly slots: Slots;
  private readonly chatWrapper: ChatWrapper;

  /**
   * Every sequence of the context, made once and kept, with its id in llama.cpp (node-llama-cpp does
   * not expose it; a new context hands out 0, 1, 2, … in order). A request takes the free one with
   * the lowest id, waiting for its cache to be cleared if it was just given back: so the running
   * sequences' ids stay consecutive and a step is one compute pass (`shareBatch` in stepper.ts). Taking the next
   * id instead, while a finished request's cache is still being cleared (that waits for the end of
   * a step), scattered the ids over time under a closed loop, and steps went back to several passes.
   */
  private readonly freeSequences: PooledSequence[];

  private constructor(
    private readonly llama: Llama,
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    readonly info: EngineInfo,
    private readonly stepper: Stepper,
  ) {
    this.slots = new Slots(context.totalSequences);
    this.chatWrapper = resolveChatWrapper(model);
    this.freeSequences = Array.from({ length: context.totalSequences }, (_, id) => ({
      sequence: context.getSequence(),
      id,
      cleared: Promise.resolve(true),
    }));
  }

  static async load(llama: Llama, options: EngineOptions, binary: LoadedBinary): Promise<LlamaCppEngine> {
    const threads = options.threads ?? defaultThreads(llama.cpuMathCores);
    const model = await llama.loadModel({ modelPath: options.model.path });
    const trained = model.trainContextSize;
    const contextLength = options.contextLength ?? Math.min(trained, DEFAULT_MAX_CONTEXT);
    if (contextLength > trained) {
      await model.dispose();
      throw new TokenForgeError(
        "invalid_request",
        `context length ${contextLength} is past the model's ${trained}`,
        { field: "context_length" },
      );
    }
    const stepper = new Stepper();
    const context = await model.createContext({
      sequences: options.parallel,
      contextSize: contextLength,
      threads: { ideal: threads, min: threads },
      batchSize: Math.max(options.batchSize ?? DEFAULT_BATCH_SIZE, options.parallel),
      // Called before each decode call with every sequence that has work queued.
      batching: { itemPrioritizationStrategy: stepper.strategy },
    });
    const release = llama.llamaCppRelease;
    const info: EngineInfo = {
      runtime: "llamacpp",
      engineVersion: `llama.cpp ${release.release} (node-llama-cpp, ${binary === "native" ? "built for this CPU" : binary === "local" ? "local build" : "prebuilt"})`,
      model: options.model.id,
      modelPath: options.model.path,
      contextLength: context.contextSize,
      vocabSize: vocabSizeOf(model),
      parallel: context.totalSequences,
      threads: context.currentThreads,
      device: llama.gpu === false ? "cpu" : llama.gpu,
      details: {
        binary,
        batchSize: context.batchSize,
        flashAttention: context.flashAttention,
        trainedContextLength: trained,
        cpuMathCores: llama.cpuMathCores,
        gpuLayers: model.gpuLayers,
        modelBytes: model.size,
        kvCacheBytes: kvCacheBytes(model, context.contextSize * context.totalSequences),
      },
    };
    return new LlamaCppEngine(llama, model, context, info, stepper);
  }

  tokenize(prompt: PromptInput): number[] {
    switch (prompt.kind) {
      case "text":
        // Like vLLM: the BOS token is added when the model's tokenizer adds one.
        return prompt.addSpecialTokens === false
          ? this.model.tokenize(prompt.text, false)
          : this.withBos(this.model.tokenize(prompt.text, false));
      case "messages": {
        const history: ChatHistoryItem[] = prompt.messages.map((m) =>
          m.role === "assistant"
            ? { type: "model", response: [m.content] }
            : { type: m.role, text: m.content },
        );
        history.push({ type: "model", response: [] });
        const { contextText } = this.chatWrapper.generateContextState({ chatHistory: history });
        return contextText.tokenize(this.model.tokenizer);
      }
      default:
        return prompt satisfies never;
    }
  }

  private withBos(tokens: number[]): number[] {
    const bos = this.model.tokens.bos;
    if (bos == null || !this.model.tokens.shouldPrependBosToken || tokens[0] === bos) return tokens;
    return [bos, ...tokens];
  }

  async *generate(request: GenerateRequest): AsyncGenerator<StreamEvent> {
    const promptTokens = request.promptTokens ?? this.tokenize(request.prompt);
    if (promptTokens.length === 0) {
      throw new TokenForgeError("invalid_request", "the prompt is empty", { field: "prompt" });
    }
    if (promptTokens.length + request.maxTokens > this.info.contextLength) {
      throw new TokenForgeError(
        "context_length_exceeded",
        `prompt (${promptTokens.length} tokens) + max_tokens (${request.maxTokens}) is past the context length ${this.info.contextLength}`,
        { field: "max_tokens" },
      );
    }
    const release = await this.slots.acquire(request.signal);
    // A slot is held, so a sequence is free: each returns to the pool before its slot is released.
    let pooled: PooledSequence;
    try {
      pooled = await this.takeSequence();
    } catch (err) {
      release();
      throw err;
    }
    const { sequence } = pooled;
    const cellsInUse = () => sequence.nextTokenIndex;
    this.liveSequences.add(cellsInUse);
    let tokens: AsyncGenerator<Token> | undefined;
    try {
      yield { type: "admitted" };
      const detok = new IncrementalDetokenizer(this.model);
      const stops = new StopMatcher(request.stop);
      let generated = 0;
      let unreported = 0;
      let reason: FinishReason = "length";
      let stringStop = false;
      tokens = sequence.evaluate(promptTokens as Token[], {
        temperature: request.temperature,
        topP: request.topP,
        topK: 0,
        seed: request.seed ?? Math.floor(Math.random() * 2 ** 31),
        // EOG tokens are yielded so that ignore_eos can keep going and the others can stop on them.
        yieldEogToken: true,
        evaluationPriority: sequenceKey(pooled.id),
      });
      for (;;) {
        let next: IteratorResult<Token>;
        if (generated === 0) {
          next = await tokens.next();
        } else {
          await this.stepper.turn();
          this.stepper.departed();
          try {
            next = await tokens.next();
          } finally {
            this.stepper.arrived();
          }
        }
        if (next.done) break;
        const token = next.value;
        generated++;
        unreported++;
        if (!request.ignoreEos && this.model.isEogToken(token)) {
          reason = "stop";
          break;
        }
        const { emit, stopped } = stops.push(detok.push(token));
        if (emit.length > 0) {
          yield { type: "text", text: emit, tokens: unreported };
          unreported = 0;
        }
        if (stopped) {
          reason = "stop";
          stringStop = true;
          break;
        }
        if (generated >= request.maxTokens) break;
        if (request.signal.aborted) {
          reason = "abort";
          break;
        }
      }
      if (!stringStop) {
        const tail = stops.push(detok.flush());
        const rest = tail.emit + (tail.stopped ? "" : stops.flush());
        if (rest.length > 0) yield { type: "text", text: rest, tokens: unreported };
      }
      yield {
        type: "finish",
        reason,
        usage: { promptTokens: promptTokens.length, completionTokens: generated },
      };
    } finally {
      this.liveSequences.delete(cellsInUse);
      try {
        await tokens?.return(undefined);
      } finally {
        // Back to the pool at once; the next request to take it waits for the clearing.
        this.freeSequences.push({
          sequence,
          id: pooled.id,
          cleared: sequence.clearHistory().then(
            () => true,
            () => false,
          ),
        });
        release();
      }
    }
  }

  stats(): EngineStats {
    // Cells in use over all sequences' cells; a sequence no request holds has none.
    const cells = this.context.contextSize * this.context.totalSequences;
    let used = 0;
    for (const cellsInUse of this.liveSequences) used += cellsInUse();
    return {
      running: this.slots.running,
      waiting: this.slots.waiting,
      kvCacheUsage: cells > 0 ? used / cells : 0,
      decodeSteps: Object.fromEntries(this.stepper.steps),
    };
  }

  /** node-llama-cpp does not list a context's sequences, so the engine tracks the ones it handed out. */
  private readonly liveSequences = new Set<() => number>();

  /** The free sequence with the lowest id, once its cache is clear. */
  private async takeSequence(): Promise<PooledSequence> {
    for (let tries = 0; tries < 1000; tries++) {
      let best = -1;
      for (let i = 0; i < this.freeSequences.length; i++) {
        if (best < 0 || this.freeSequences[i]!.id < this.freeSequences[best]!.id) best = i;
      }
      if (best < 0) {
        // Only while a sequence that could not be cleared is being replaced.
        await new Promise((r) => setTimeout(r, 1));
        continue;
      }
      const [pooled] = this.freeSequences.splice(best, 1) as [PooledSequence];
      if (await pooled.cleared) return pooled;
      // A sequence whose cache could not be cleared is not reused: a fresh one takes its id once
      // node-llama-cpp has reclaimed it.
      pooled.sequence.dispose();
      void this.replaceSequence(pooled.id);
    }
    throw new TokenForgeError("engine_error", "no sequence could be cleared for this request");
  }

  private async replaceSequence(id: number): Promise<void> {
    for (let tries = 0; tries < 1000 && this.context.sequencesLeft === 0; tries++) {
      await new Promise((r) => setTimeout(r, 1));
    }
    if (this.context.sequencesLeft === 0) return;
    this.freeSequences.push({ sequence: this.context.getSequence(), id, cleared: Promise.resolve(true) });
  }

  async close(): Promise<void> {
    await this.context.dispose();
    await this.model.dispose();
    await this.llama.dispose();
  }
}
