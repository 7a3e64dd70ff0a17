/** Response bodies and stream chunks of the OpenAI API, for completions and chat. */
import type { FinishReason, Usage } from "../spec/engine.js";
import type { Endpoint } from "./generation-request.js";

export interface OpenAIUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export function usageOf(u: Usage): OpenAIUsage {
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.promptTokens + u.completionTokens,
  };
}

/** OpenAI has no "abort": a request cut short by the client reports what it had. */
function finishOf(reason: FinishReason): "length" | "stop" {
  return reason === "length" ? "length" : "stop";
}

export class ShapeWriter {
  constructor(
    private readonly endpoint: Endpoint,
    private readonly id: string,
    private readonly model: string,
    private readonly created = Math.floor(Date.now() / 1000),
  ) {}

  private head(object: string) {
    return { id: this.id, object, created: this.created, model: this.model };
  }

  /** The chat stream's first chunk announces the role; completions have none. */
  roleChunk(): unknown | undefined {
    if (this.endpoint !== "chat") return undefined;
    return {
      ...this.head("chat.completion.chunk"),
      choices: [{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }],
    };
  }

  /** `usage`, when given, is the running total (vLLM's stream_options.continuous_usage_stats). */
  chunk(text: string, finish: FinishReason | null, usage?: Usage): unknown {
    const finish_reason = finish === null ? null : finishOf(finish);
    const extra = usage ? { usage: usageOf(usage) } : {};
    if (this.endpoint === "chat") {
      return {
        ...this.head("chat.completion.chunk"),
        choices: [
          { index: 0, delta: text.length > 0 ? { content: text } : {}, logprobs: null, finish_reason },
        ],
        ...extra,
      };
    }
    return {
      ...this.head("text_completion"),
      choices: [{ index: 0, text, logprobs: null, finish_reason }],
      ...extra,
    };
  }

  usageChunk(usage: Usage): unknown {
    const object = this.endpoint === "chat" ? "chat.completion.chunk" : "text_completion";
    return { ...this.head(object), choices: [], usage: usageOf(usage) };
  }

  full(text: string, finish: FinishReason, usage: Usage): unknown {
    const finish_reason = finishOf(finish);
    if (this.endpoint === "chat") {
      return {
        ...this.head("chat.completion"),
        choices: [{ index: 0, message: { role: "assistant", content: text }, logprobs: null, finish_reason }],
        usage: usageOf(usage),
      };
    }
    return {
      ...this.head("text_completion"),
      choices: [{ index: 0, text, logprobs: null, finish_reason }],
      usage: usageOf(usage),
    };
  }
}
