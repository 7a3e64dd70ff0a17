/**
 * Turns a validated OpenAI request into an engine request, with the checks a schema cannot make:
 * the model name, the prompt's size (on its raw bytes, before tokenizing), and whether prompt
 * plus max_tokens fit in the context.
 */
import { TokenForgeError } from "../errors.js";
import type { ChatMessage, Engine, GenerateRequest, PromptInput } from "../spec/engine.js";
import type { ResolvedLimits } from "./limits.js";
import type { ChatCompletionRequest, CompletionRequest } from "./schemas.js";

export type Endpoint = "completions" | "chat";

export interface PreparedRequest {
  engineRequest: Omit<GenerateRequest, "signal">;
  stream: boolean;
  includeUsage: boolean;
  /** Every chunk carries the running usage. */
  continuousUsage: boolean;
}

/** What prepareRequest needs of the worker's limits. */
export type RequestLimits = Pick<ResolvedLimits, "maxPromptBytes" | "defaultMaxTokens">;

/**
 * Refuses a prompt past the byte limit with 413, before any tokenizing: tokenizing megabytes
 * blocks the event loop for as long as it takes (about a second for 7.5 MB).
 */
export function checkPromptBytes(texts: readonly string[], field: string, maxBytes: number): void {
  let bytes = 0;
  for (const t of texts) {
    // A string's UTF-8 size is at most 3 bytes per UTF-16 unit: most prompts pass without counting.
    bytes += t.length * 3 <= maxBytes ? t.length * 3 : Buffer.byteLength(t, "utf8");
  }
  if (bytes <= maxBytes) return;
  let exact = 0;
  for (const t of texts) exact += Buffer.byteLength(t, "utf8");
  if (exact > maxBytes) {
    throw new TokenForgeError(
      "payload_too_large",
      `${field} is ${exact} bytes; this worker takes prompts of at most ${maxBytes} bytes (--max-prompt-bytes)`,
      { field },
    );
  }
}

export function checkModel(engine: Engine, model: string | undefined): void {
  if (model !== undefined && model !== engine.info.model) {
    throw new TokenForgeError(
      "model_not_found",
      `The model \`${model}\` does not exist. This worker serves \`${engine.info.model}\`.`,
      { field: "model" },
    );
  }
}

export function messagesOf(messages: ChatCompletionRequest["messages"]): ChatMessage[] {
  return messages.map((m) => ({
    role: m.role === "developer" ? "system" : m.role,
    content: typeof m.content === "string" ? m.content : m.content.map((p) => p.text).join(""),
  }));
}

export function prepareRequest(
  engine: Engine,
  endpoint: Endpoint,
  body: CompletionRequest | ChatCompletionRequest,
  limits: RequestLimits,
): PreparedRequest {
  checkModel(engine, body.model);
  let prompt: PromptInput;
  let promptTokens: number[];
  let promptField: string;
  let requested: number | undefined = body.max_tokens;
  if (endpoint === "chat") {
    const chat = body as ChatCompletionRequest;
    promptField = "messages";
    prompt = { kind: "messages", messages: messagesOf(chat.messages) };
    checkPromptBytes(
      prompt.messages.map((m) => m.content),
      promptField,
      limits.maxPromptBytes,
    );
    promptTokens = engine.tokenize(prompt);
    if (chat.max_completion_tokens !== undefined) {
      if (requested !== undefined && requested !== chat.max_completion_tokens) {
        throw new TokenForgeError("invalid_request", "max_tokens and max_completion_tokens disagree", {
          field: "max_completion_tokens",
        });
      }
      requested = chat.max_completion_tokens;
    }
  } else {
    const raw = (body as CompletionRequest).prompt;
    promptField = "prompt";
    if (typeof raw === "string" || typeof raw[0] === "string") {
      const text = typeof raw === "string" ? raw : (raw[0] as string);
      // Checked before tokenizing: the BOS token would make an empty prompt look like one token.
      if (text.length === 0)
        throw new TokenForgeError("invalid_request", "prompt is empty", { field: "prompt" });
      checkPromptBytes([text], promptField, limits.maxPromptBytes);
      prompt = { kind: "text", text };
      promptTokens = engine.tokenize(prompt);
    } else {
      // Token ids, as vLLM accepts them; an id past the vocabulary would crash the engine.
      promptTokens = raw as number[];
      const bad = promptTokens.findIndex((t) => t >= engine.info.vocabSize);
      if (bad >= 0) {
        throw new TokenForgeError(
          "invalid_request",
          `prompt[${bad}] is token id ${promptTokens[bad]}; this model's ids are 0..${engine.info.vocabSize - 1}`,
          { field: `prompt[${bad}]` },
        );
      }
      prompt = { kind: "text", text: "" };
    }
  }
  const context = engine.info.contextLength;
  if (promptTokens.length === 0) {
    throw new TokenForgeError("invalid_request", `${promptField} is empty`, { field: promptField });
  }
  if (promptTokens.length >= context) {
    throw new TokenForgeError(
      "context_length_exceeded",
      `${promptField} is ${promptTokens.length} tokens; this model's context is ${context} tokens`,
      { field: promptField },
    );
  }
  // A default never reaches past the context: it is cut to what is left there.
  const maxTokens = requested ?? Math.min(limits.defaultMaxTokens[endpoint], context - promptTokens.length);
  if (promptTokens.length + maxTokens > context) {
    throw new TokenForgeError(
      "context_length_exceeded",
      `max_tokens ${maxTokens} plus the ${promptTokens.length} prompt tokens is past this model's context of ${context} tokens`,
      {
        field: endpoint === "chat" && body.max_tokens === undefined ? "max_completion_tokens" : "max_tokens",
      },
    );
  }
  const stop = body.stop == null ? [] : typeof body.stop === "string" ? [body.stop] : body.stop;
  return {
    engineRequest: {
      prompt,
      promptTokens,
      maxTokens,
      temperature: body.temperature ?? 1,
      topP: body.top_p ?? 1,
      seed: body.seed ?? undefined,
      stop,
      ignoreEos: body.ignore_eos ?? false,
    },
    stream: body.stream ?? false,
    includeUsage: body.stream_options?.include_usage ?? false,
    continuousUsage: body.stream_options?.continuous_usage_stats ?? false,
  };
}
