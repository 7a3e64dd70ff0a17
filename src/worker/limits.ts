/**
 * The worker's request limits and their defaults: how many requests may wait for a sequence, how
 * long a request may expect to wait, how large a prompt may be before it is tokenized, and how
 * many tokens a request that names no `max_tokens` gets.
 */

export interface WorkerLimits {
  /**
   * Requests admitted beyond the engine's sequences (`max_num_seqs`, llama.cpp's `--parallel`);
   * more get 429. Undefined: {@link DEFAULT_WAITING_PER_SEQUENCE} per sequence.
   */
  maxWaiting?: number | undefined;
  /**
   * Longest a request may wait for a sequence, in ms: one whose expected wait is longer is refused
   * at once, and one still waiting when it runs out is refused then. Undefined: no budget.
   */
  maxQueueMs?: number | undefined;
  /** Prompt size in UTF-8 bytes past which a request gets 413 before it is tokenized. */
  maxPromptBytes?: number | undefined;
  /** `max_tokens` of a chat request that names none (never more than what is left of the context). */
  defaultMaxTokens?: number | undefined;
}

/** A request may wait behind each sequence for two requests' time: a bounded wait, a full batch kept fed. */
export const DEFAULT_WAITING_PER_SEQUENCE = 2;
/** 1 MiB: more text than any 128k-token context holds, and about 0.15 s of tokenizing at worst. */
export const DEFAULT_MAX_PROMPT_BYTES = 1024 * 1024;
/** A long chat answer; what an unbounded default would hold a sequence for is a whole context. */
export const DEFAULT_CHAT_MAX_TOKENS = 1024;
/** OpenAI's (and vLLM's) default for /v1/completions. */
export const COMPLETIONS_DEFAULT_MAX_TOKENS = 16;

/** Limits with every default filled in, for a worker whose engine runs `sequences` at once. */
export interface ResolvedLimits {
  maxNumSeqs: number;
  maxWaiting: number;
  maxQueueMs: number | undefined;
  maxPromptBytes: number;
  defaultMaxTokens: { chat: number; completions: number };
}

export function resolveLimits(limits: WorkerLimits, sequences: number): ResolvedLimits {
  return {
    maxNumSeqs: sequences,
    maxWaiting: limits.maxWaiting ?? DEFAULT_WAITING_PER_SEQUENCE * sequences,
    maxQueueMs: limits.maxQueueMs,
    maxPromptBytes: limits.maxPromptBytes ?? DEFAULT_MAX_PROMPT_BYTES,
    defaultMaxTokens: {
      chat: limits.defaultMaxTokens ?? DEFAULT_CHAT_MAX_TOKENS,
      completions: COMPLETIONS_DEFAULT_MAX_TOKENS,
    },
  };
}

/** What `/health` shows of the limits (snake_case, as the rest of the body). */
export function limitsBody(l: ResolvedLimits) {
  return {
    max_num_seqs: l.maxNumSeqs,
    max_waiting: l.maxWaiting,
    max_queue_ms: l.maxQueueMs ?? null,
    max_prompt_bytes: l.maxPromptBytes,
    default_max_tokens: l.defaultMaxTokens,
  };
}
