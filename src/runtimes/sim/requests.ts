/**
 * Reading the simulated server's requests: the prompt-token rule (maximal runs of non-whitespace,
 * JavaScript's `\s`; chat sums its messages; a token-id prompt counts its ids) and the checks that
 * turn a generation body into the plan the simulation runs, with 400s naming the field.
 */

import type { ServerResponse } from "node:http";

const ERROR_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  404: "not_found_error",
  413: "invalid_request_error",
};

/** Exactly JavaScript's `\s`. */
function isSpace(c: number): boolean {
  if (c <= 32) return c === 32 || (c >= 9 && c <= 13);
  if (c < 160) return false;
  return (
    c === 160 ||
    c === 5760 ||
    (c >= 8192 && c <= 8202) ||
    c === 8232 ||
    c === 8233 ||
    c === 8239 ||
    c === 8287 ||
    c === 12288 ||
    c === 65279
  );
}

/** The prompt-token rule: maximal runs of non-whitespace. */
export function countWords(s: string): number {
  let n = 0;
  let inWord = false;
  for (let i = 0; i < s.length; i++) {
    const space = isSpace(s.charCodeAt(i));
    if (!space && !inWord) n++;
    inWord = !space;
  }
  return n;
}

export class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null,
    readonly code: string | null,
  ) {
    super(message);
  }
}

export function errorBody(
  status: number,
  message: string,
  param: string | null,
  code: string | null,
): string {
  return JSON.stringify({ error: { message, type: ERROR_TYPES[status] ?? "server_error", param, code } });
}

export function sendJson(res: ServerResponse, body: string): void {
  res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function bad(param: string, message: string): RequestError {
  return new RequestError(400, `${param} ${message}`, param, "invalid_request");
}

/** Prompt tokens of a completions `prompt`: a string, one string in a list, or token ids. */
export function promptTokensOf(prompt: unknown): number {
  if (typeof prompt === "string") {
    if (prompt.length === 0) throw bad("prompt", "must not be empty");
    return countWords(prompt);
  }
  if (Array.isArray(prompt) && prompt.length > 0) {
    if (prompt.length === 1 && typeof prompt[0] === "string") return promptTokensOf(prompt[0]);
    for (let i = 0; i < prompt.length; i++) {
      const t = prompt[i];
      if (typeof t !== "number" || !Number.isInteger(t) || t < 0)
        throw bad(`prompt[${i}]`, "must be a token id (an integer >= 0)");
    }
    return prompt.length;
  }
  if (prompt === undefined) throw bad("prompt", "is required");
  throw bad("prompt", "must be a non-empty string, a list of one string, or a list of token ids");
}

/** Prompt tokens of chat `messages`: the words of every message's text content. */
export function messagesTokensOf(messages: unknown): number {
  if (messages === undefined) throw bad("messages", "is required");
  if (!Array.isArray(messages) || messages.length === 0) throw bad("messages", "must be a non-empty list");
  let n = 0;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i];
    if (!isObject(m)) throw bad(`messages[${i}]`, "must be an object");
    if (typeof m.role !== "string") throw bad(`messages[${i}].role`, "must be a string");
    const content = m.content;
    if (typeof content === "string") n += countWords(content);
    else if (Array.isArray(content)) {
      for (let j = 0; j < content.length; j++) {
        const part = content[j];
        if (!isObject(part)) throw bad(`messages[${i}].content[${j}]`, "must be an object");
        if (part.type === "text") {
          if (typeof part.text !== "string")
            throw bad(`messages[${i}].content[${j}].text`, "must be a string");
          n += countWords(part.text);
        }
      }
    } else if (content !== null && content !== undefined)
      throw bad(`messages[${i}].content`, "must be a string, a list of parts or null");
  }
  return n;
}

export interface Plan {
  chat: boolean;
  stream: boolean;
  includeUsage: boolean;
  continuousUsage: boolean;
  promptTokens: number;
  maxTokens: number;
}

/** Validates a generation request body into what the simulation needs. */
export function planOf(body: unknown, chat: boolean, model: string, maxModelLen: number): Plan {
  if (!isObject(body)) throw bad("body", "must be a JSON object");
  if (body.model !== undefined && body.model !== null) {
    if (typeof body.model !== "string") throw bad("model", "must be a string");
    if (body.model !== model)
      throw new RequestError(404, `The model \`${body.model}\` does not exist.`, "model", "model_not_found");
  }
  const promptTokens = chat ? messagesTokensOf(body.messages) : promptTokensOf(body.prompt);
  let maxParam = "max_tokens";
  let max = body.max_tokens;
  if (chat && (max === undefined || max === null) && body.max_completion_tokens != null) {
    maxParam = "max_completion_tokens";
    max = body.max_completion_tokens;
  }
  let maxTokens = 16;
  if (max !== undefined && max !== null) {
    if (typeof max !== "number" || !Number.isInteger(max) || max < 1)
      throw bad(maxParam, "must be an integer >= 1");
    maxTokens = max;
  }
  if (promptTokens + maxTokens > maxModelLen)
    throw bad(
      maxParam,
      `plus the prompt's ${promptTokens} tokens exceeds the model's context length ${maxModelLen}`,
    );
  const stream = body.stream ?? false;
  if (typeof stream !== "boolean") throw bad("stream", "must be a boolean");
  const so = body.stream_options;
  let includeUsage = false;
  let continuousUsage = false;
  if (so !== undefined && so !== null) {
    if (!isObject(so)) throw bad("stream_options", "must be an object");
    const iu = so.include_usage ?? false;
    if (typeof iu !== "boolean") throw bad("stream_options.include_usage", "must be a boolean");
    const cu = so.continuous_usage_stats ?? false;
    if (typeof cu !== "boolean") throw bad("stream_options.continuous_usage_stats", "must be a boolean");
    includeUsage = iu;
    continuousUsage = cu;
  }
  return { chat, stream, includeUsage, continuousUsage, promptTokens, maxTokens };
}
