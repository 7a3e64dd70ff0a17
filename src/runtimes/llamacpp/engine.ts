/**
 * llama.cpp in this process through node-llama-cpp. One context holds `parallel` sequences;
 * node-llama-cpp batches every sequence with pending work into one decode call, so a new request
 * joins the running batch at the next step instead of waiting for the others to finish. The
 * engine chooses what goes into each call itself, and so counts how many sequences each carried.
 */
import {
  type BatchItem,
  type ChatHistoryItem,
  type ChatWrapper,
  getLlama,
  type Llama,
  type LlamaContext,
  type LlamaContextSequence,
  LlamaLogLevel,
  type LlamaModel,
  type PrioritizedBatchItem,
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
import { IncrementalDetokenizer } from "./detokenizer.js";

/** Context length per sequence when neither the user nor a small model says otherwise. */
const DEFAULT_MAX_CONTEXT = 4096;

/**
 * Tokens per decode call. llama.cpp reserves logits for a whole batch (vocabulary × batch × 4
 * bytes: 51 MB at 128 tokens with a 100k vocabulary, 205 MB at 512), and on a CPU a prompt is
 * processed about as fast in chunks of 128 as of 512, so 128 keeps memory down at no cost
 * measured here (BENCHMARKS.md, "memory").
 */
const DEFAULT_BATCH_SIZE = 128;

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
  const llama = await getLlama({
    gpu: options.gpu === false ? false : "auto",
    build: "never",
    usePrebuiltBinaries: true,
    progressLogs: false,
    skipDownload: true,
    logLevel: LlamaLogLevel.error,
  });
  try {
    return await LlamaCppEngine.load(llama, options);
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

/**
 * What one decode call processes, in the manner of node-llama-cpp's default ("maximumParallelism",
 * which it does not export): an equal share of the batch for every sequence with work, then what
 * is left to the sequences with more, highest priority first. `size` is at least `parallel`, so
 * every sequence with work is in the call.
 */
function shareBatch(items: readonly BatchItem[], size: number): PrioritizedBatchItem[] {
  const share = Math.max(1, Math.floor(size / Math.max(1, items.length)));
  let left = size;
  const out = items.map((item) => {
    const processAmount = Math.min(item.tokens.length, share, left);
    left -= processAmount;
    return { item, processAmount };
  });
  const clipped = out
    .filter((p) => p.processAmount < p.item.tokens.length)
    .sort((a, b) => b.item.evaluationPriority - a.item.evaluationPriority);
  for (const p of clipped) {
    if (left === 0) break;
    const more = Math.min(p.item.tokens.length - p.processAmount, left);
    p.processAmount += more;
    left -= more;
  }
  return out.filter((p) => p.processAmount > 0);
}

class LlamaCppEngine implements Engine {
  private readonly slots: Slots;
  private readonly chatWrapper: ChatWrapper;

  private constructor(
    private readonly llama: Llama,
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    readonly info: EngineInfo,
    /** Decode calls so far by how many sequences each carried (filled by the context's batching). */
    private readonly decodeSteps: Map<number, number>,
  ) {
    this.slots = new Slots(context.totalSequences);
    this.chatWrapper = resolveChatWrapper(model);
  }

  static async load(llama: Llama, options: EngineOptions): Promise<LlamaCppEngine> {
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
    const decodeSteps = new Map<number, number>();
    const context = await model.createContext({
      sequences: options.parallel,
      contextSize: contextLength,
      threads: { ideal: threads, min: threads },
      batchSize: Math.max(options.batchSize ?? DEFAULT_BATCH_SIZE, options.parallel),
      batching: {
        // Called once per decode call with every sequence that has work queued.
        itemPrioritizationStrategy: ({ items, size }) => {
          const batch = shareBatch(items, size);
          decodeSteps.set(batch.length, (decodeSteps.get(batch.length) ?? 0) + 1);
          return batch;
        },
      },
    });
    const release = llama.llamaCppRelease;
    const info: EngineInfo = {
      runtime: "llamacpp",
      engineVersion: `llama.cpp ${release.release} (node-llama-cpp)`,
      model: options.model.id,
      modelPath: options.model.path,
      contextLength: context.contextSize,
      vocabSize: vocabSizeOf(model),
      parallel: context.totalSequences,
      threads: context.currentThreads,
      device: llama.gpu === false ? "cpu" : llama.gpu,
      details: {
        batchSize: context.batchSize,
        flashAttention: context.flashAttention,
        trainedContextLength: trained,
        cpuMathCores: llama.cpuMathCores,
        gpuLayers: model.gpuLayers,
        modelBytes: model.size,
        kvCacheBytes: kvCacheBytes(model, context.contextSize * context.totalSequences),
      },
    };
    return new LlamaCppEngine(llama, model, context, info, decodeSteps);
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
    let sequence: LlamaContextSequence;
    try {
      sequence = await this.freeSequence(request.signal);
    } catch (err) {
      release();
      throw err;
    }
    const cellsInUse = () => sequence.nextTokenIndex;
    this.liveSequences.add(cellsInUse);
    try {
      yield { type: "admitted" };
      const detok = new IncrementalDetokenizer(this.model);
      const stops = new StopMatcher(request.stop);
      let generated = 0;
      let unreported = 0;
      let reason: FinishReason = "length";
      let stringStop = false;
      const tokens = sequence.evaluate(promptTokens as Token[], {
        temperature: request.temperature,
        topP: request.topP,
        topK: 0,
        seed: request.seed ?? Math.floor(Math.random() * 2 ** 31),
        // EOG tokens are yielded so that ignore_eos can keep going and the others can stop on them.
        yieldEogToken: true,
      });
      for await (const token of tokens) {
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
      sequence.dispose();
      release();
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
      decodeSteps: Object.fromEntries(this.decodeSteps),
    };
  }

  /** node-llama-cpp does not list a context's sequences, so the engine tracks the ones it handed out. */
  private readonly liveSequences = new Set<() => number>();

  /**
   * A sequence for a request that holds a slot. node-llama-cpp returns a disposed sequence's id
   * asynchronously (under its context lock), so right after another request released its slot
   * the id may not be back yet: wait for it rather than fail with "No sequences left".
   */
  private async freeSequence(signal: AbortSignal): Promise<LlamaContextSequence> {
    for (let spins = 0; this.context.sequencesLeft === 0; spins++) {
      if (signal.aborted)
        throw new TokenForgeError("engine_error", "request aborted while waiting for a sequence");
      await new Promise((r) => (spins < 64 ? setImmediate(r) : setTimeout(r, 1)));
    }
    return this.context.getSequence();
  }

  async close(): Promise<void> {
    await this.context.dispose();
    await this.model.dispose();
    await this.llama.dispose();
  }
}
