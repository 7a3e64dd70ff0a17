/**
 * The text of the simulated server's replies, built by concatenating strings precomputed at start
 * (no JSON.stringify per token): each streamed chunk's `choices`, the `data:` prefix of a reply's
 * chunks, usage objects and whole (unstreamed) replies. Every token is the text `" tok"`.
 */

const TOKEN = " tok";
export const DONE = "data: [DONE]\n\n";

/** A JSON string's inside (no quotes); ids from headers are usually safe as they are. */
export function jsonInner(s: string): string {
  return /^[\w.:-]*$/.test(s) ? s : JSON.stringify(s).slice(1, -1);
}

export function usageJson(prompt: number, completion: number, reasoning?: number): string {
  const details = reasoning ? `,"completion_tokens_details":{"reasoning_tokens":${reasoning}}` : "";
  return `{"prompt_tokens":${prompt},"completion_tokens":${completion},"total_tokens":${prompt + completion}${details}}`;
}

const choice = (inner: string, finish: string | null): string =>
  `[{"index":0,${inner},"logprobs":null,"finish_reason":${finish === null ? "null" : `"${finish}"`}}]`;
const cmplChoice = (text: string, finish: string | null) => choice(`"text":"${text}"`, finish);
const chatChoice = (content: string, role: boolean, finish: string | null) =>
  choice(`"delta":{${role ? '"role":"assistant",' : ""}"content":"${content}"}`, finish);

/** Per-chunk `choices` strings for one server, built once (the last chunk's are cached by shape). */
export class ChunkTexts {
  /** A middle chunk of a completion: `tokensPerChunk` tokens. */
  readonly midCmpl: string;
  /** A middle chunk of a chat reply. */
  readonly midChat: string;
  /** A chat reply's first chunk when no leading chunks were written: it carries the role. */
  readonly firstChat: string;
  /** A chat chunk of reasoning (`delta.reasoning_content`), with and without the role. */
  readonly midReasoning: string;
  readonly firstReasoning: string;
  /** The leading chunks written before the first token: an empty text (completions). */
  readonly leadCmpl: readonly string[];
  /** The leading chunks of chat: a role-only delta, an empty-content delta, a reasoning_content delta. */
  readonly leadChat: readonly string[];
  private readonly lastCache = new Map<string, string>();

  constructor(
    /** The served model's id as a JSON string. */
    readonly modelJson: string,
    tokensPerChunk: number,
  ) {
    const fullText = TOKEN.repeat(tokensPerChunk);
    this.midCmpl = cmplChoice(fullText, null);
    this.midChat = chatChoice(fullText, false, null);
    this.firstChat = chatChoice(fullText, true, null);
    this.midReasoning = choice(`"delta":{"reasoning_content":"${fullText}"}`, null);
    this.firstReasoning = choice(`"delta":{"role":"assistant","reasoning_content":"${fullText}"}`, null);
    this.leadCmpl = [cmplChoice("", null)];
    this.leadChat = [
      choice(`"delta":{"role":"assistant"}`, null),
      chatChoice("", false, null),
      choice(`"delta":{"reasoning_content":""}`, null),
    ];
  }

  /** The last chunk's `choices`: `k` tokens, the finish reason, and the role when it is also the first. */
  last(chat: boolean, k: number, role: boolean, finish: string): string {
    const key = `${chat ? 1 : 0}${role ? 1 : 0}${finish}${k}`;
    let s = this.lastCache.get(key);
    if (s === undefined) {
      const text = TOKEN.repeat(k);
      s = chat ? chatChoice(text, role, finish) : cmplChoice(text, finish);
      this.lastCache.set(key, s);
    }
    return s;
  }

  /** `data: {"id":...,"choices":` — everything of a streamed chunk before its choices. */
  prefix(bodyId: string, chat: boolean, created: number): string {
    return `data: {"id":"${bodyId}","object":"${chat ? "chat.completion.chunk" : "text_completion"}","created":${created},"model":${this.modelJson},"choices":`;
  }

  /** A whole (unstreamed) reply of `n` tokens, reporting `completion` of them in its usage. */
  whole(
    bodyId: string,
    chat: boolean,
    created: number,
    n: number,
    finish: string,
    promptTokens: number,
    completion: number,
  ): string {
    const text = TOKEN.repeat(n);
    const inner = chat ? `"message":{"role":"assistant","content":"${text}"}` : `"text":"${text}"`;
    return `{"id":"${bodyId}","object":"${chat ? "chat.completion" : "text_completion"}","created":${created},"model":${this.modelJson},"choices":[{"index":0,${inner},"logprobs":null,"finish_reason":"${finish}"}],"usage":${usageJson(promptTokens, completion)}}`;
  }
}
