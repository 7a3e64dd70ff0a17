/**
 * The harness's stream reader: finds server-sent-event boundaries by scanning bytes and looks
 * only at the fields a trace needs, so a token costs a few `indexOf` calls and a syntax check
 * over its bytes (json-check.ts) instead of a `JSON.parse`. An event is parsed as JSON only when
 * it carries `usage` or `error`, which happens once per request.
 *
 * A broken stream stops the reader at the first fault, reported once through `onStreamInvalid`
 * with a one-line reason: an event that is not JSON (or not a JSON object), or a line longer than
 * `maxLineBytes`. A line still being received is kept as the pieces it arrived in and joined once
 * when its end arrives, so buffering costs time linear in the line's length however it is split.
 *
 * Content detection: a completions chunk carries content when its `"text":"` is non-empty; a chat
 * chunk when its `"content":"` is non-empty. A role-only delta, an empty string and `content: null`
 * are not content. A chat chunk whose `"reasoning_content":"` or `"reasoning":"` is non-empty (a
 * reasoning model's thinking, streamed apart from its answer) is reported as reasoning: a token,
 * but not an answer token. Inside a JSON string every quote is escaped, so these patterns cannot
 * match the generated text itself.
 */

import { JsonChecker, jsonProblem } from "./json-check.js";

const TEXT_KEY = Buffer.from('"text":');
const CONTENT_KEY = Buffer.from('"content":');
const REASONING_KEYS = [Buffer.from('"reasoning_content":'), Buffer.from('"reasoning":')];
const USAGE_KEY = Buffer.from('"usage":');
const ERROR_KEY = Buffer.from('"error":');
const OBJECT_KEY = Buffer.from('"object":');
const ERROR_VALUE = Buffer.from('"error"');
const BRACE = 0x7b;
const DATA_PREFIX = Buffer.from("data:");
const DONE = Buffer.from("[DONE]");
const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;

export interface StreamUsage {
  promptTokens: number;
  completionTokens: number;
  /** `completion_tokens_details.reasoning_tokens`, when the server reports it. */
  reasoningTokens?: number;
}

/** What the scanner reports for each complete event. */
export interface SseSink {
  /** A chunk with content; `usage` is the running count when the server sends continuous usage. */
  onStreamContent(usage: StreamUsage | undefined): void;
  /** A chat chunk of reasoning only (no answer content); `usage` as for content. */
  onStreamReasoning?(usage: StreamUsage | undefined): void;
  onStreamUsage(usage: StreamUsage): void;
  onStreamError(message: string): void;
  onStreamDone(): void;
  /** The stream broke the protocol; nothing more is reported after this. */
  onStreamInvalid(reason: string): void;
}

/** The longest SSE line (and non-streamed reply body) the harness accepts by default. */
export const DEFAULT_MAX_LINE_BYTES = 8 * 1024 * 1024;

/** A byte count as the reasons print it: whole MiB or KiB when exact, else bytes. */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

export class SseScanner {
  /** The start of a line whose end has not arrived, as the pieces it came in. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly contentKey: Buffer;
  private readonly json = new JsonChecker();
  /** Where the content key sat in the previous event: chunks of one stream share a layout. */
  private hint = -1;
  /** Data events seen, `[DONE]` included: the number a reason gives an event. */
  private events = 0;
  done = false;
  /** Set once the stream broke the protocol; the reader then ignores everything. */
  failed = false;

  constructor(
    endpoint: "completions" | "chat",
    private readonly sink: SseSink,
    /** True when the request asked for usage on every chunk (`continuous_usage_stats`). */
    private readonly continuousUsage = false,
    private readonly maxLineBytes = DEFAULT_MAX_LINE_BYTES,
  ) {
    this.contentKey = endpoint === "chat" ? CONTENT_KEY : TEXT_KEY;
  }

  /** Feeds bytes as they arrive; complete events are reported synchronously. */
  push(chunk: Buffer): void {
    if (this.done || this.failed) return;
    let buf = chunk;
    if (this.pendingBytes > 0) {
      if (chunk.indexOf(LF) === -1) {
        // Still inside the same line: keep the piece, copy nothing.
        this.pending.push(chunk);
        this.pendingBytes += chunk.length;
        if (this.pendingBytes > this.maxLineBytes) this.tooLong();
        return;
      }
      this.pending.push(chunk);
      buf = Buffer.concat(this.pending, this.pendingBytes + chunk.length);
      this.pending = [];
      this.pendingBytes = 0;
    }
    let start = 0;
    const len = buf.length;
    // Lines are split on LF; an empty line (LF LF or LF CR LF) ends an event. Servers send one
    // `data:` line per event, so each data line is handled as its own event.
    while (start < len && !this.done && !this.failed) {
      const nl = buf.indexOf(LF, start);
      if (nl === -1) break;
      if (nl - start > this.maxLineBytes) {
        this.tooLong();
        return;
      }
      let end = nl;
      if (end > start && buf[end - 1] === CR) end--;
      if (end - start >= DATA_PREFIX.length && matchAt(buf, start, DATA_PREFIX)) {
        let p = start + DATA_PREFIX.length;
        if (buf[p] === SPACE) p++;
        this.event(buf, p, end);
        // The blank line that ends the event needs no search of its own.
        if (buf[nl + 1] === LF) {
          start = nl + 2;
          continue;
        }
      }
      start = nl + 1;
    }
    if (start < len && !this.done && !this.failed) {
      this.pending.push(buf.subarray(start));
      this.pendingBytes = len - start;
      if (this.pendingBytes > this.maxLineBytes) this.tooLong();
    }
  }

  /** Bytes left over that never formed a complete line. */
  get leftover(): number {
    return this.pendingBytes;
  }

  private tooLong(): void {
    this.pending = [];
    this.pendingBytes = 0;
    this.fail(`SSE line over ${formatBytes(this.maxLineBytes)}`);
  }

  private fail(reason: string): void {
    this.failed = true;
    this.sink.onStreamInvalid(reason);
  }

  private event(buf: Buffer, from: number, to: number): void {
    // Every search stays inside this event: a view costs less than scanning the rest of a
    // buffer that may hold a whole reply.
    const ev = buf.subarray(from, to);
    const n = ++this.events;
    if (ev.length === DONE.length && ev.equals(DONE)) {
      this.done = true;
      this.sink.onStreamDone();
      return;
    }
    if (!this.json.isValue(ev, 0, ev.length)) {
      const text = ev.toString("utf8");
      this.fail(`invalid JSON in chunk ${n}: ${clip(jsonProblem(text) ?? "not JSON")}`);
      return;
    }
    if (ev[valueAt(ev, 0)] !== BRACE) {
      this.fail(`chunk ${n} is not a JSON object: ${clip(ev.toString("utf8"))}`);
      return;
    }
    if (isTopLevelError(ev)) {
      this.sink.onStreamError(errorMessage(ev.toString("utf8")));
      return;
    }
    const key = this.contentKey;
    let keyAt = this.hint;
    if (keyAt < 0 || !matchAt(ev, keyAt, key)) keyAt = ev.indexOf(key);
    if (keyAt !== -1) {
      this.hint = keyAt;
      // A string value that is not empty: `"text": "…"`, not `""` or `null`.
      const v = valueAt(ev, keyAt + key.length);
      if (ev[v] === QUOTE && v + 1 < ev.length && ev[v + 1] !== QUOTE) {
        this.sink.onStreamContent(this.continuousUsage ? this.usageIn(ev, v) : undefined);
        // Some servers put the final usage on the last content chunk.
        if (!this.continuousUsage) {
          const usage = this.usageIn(ev, v);
          if (usage !== undefined) this.sink.onStreamUsage(usage);
        }
        return;
      }
    }
    if (this.contentKey === CONTENT_KEY && this.reasoningIn(ev)) {
      this.sink.onStreamReasoning?.(this.continuousUsage ? this.usageIn(ev, 0) : undefined);
      if (!this.continuousUsage) {
        const usage = this.usageIn(ev, 0);
        if (usage !== undefined) this.sink.onStreamUsage(usage);
      }
      return;
    }
    const usage = this.usageIn(ev, 0);
    if (usage !== undefined) this.sink.onStreamUsage(usage);
  }

  /** Whether a chat event carries a non-empty reasoning string. */
  private reasoningIn(ev: Buffer): boolean {
    for (const key of REASONING_KEYS) {
      const at = ev.indexOf(key);
      if (at === -1) continue;
      const v = valueAt(ev, at + key.length);
      if (ev[v] === QUOTE && v + 1 < ev.length && ev[v + 1] !== QUOTE) return true;
    }
    return false;
  }

  /** The usage object of this event, when it has one (`"usage": null` has none). */
  private usageIn(ev: Buffer, from: number): StreamUsage | undefined {
    const at = ev.indexOf(USAGE_KEY, from);
    if (at === -1 || ev[valueAt(ev, at + USAGE_KEY.length)] !== BRACE) return undefined;
    return parseUsage(ev.toString("utf8"));
  }
}

/**
 * A reply's `usage` object as the trace keeps it: both counts, and the reasoning tokens when the
 * server breaks them out (`completion_tokens_details.reasoning_tokens`); undefined when malformed.
 */
export function usageOf(u: unknown): StreamUsage | undefined {
  if (typeof u !== "object" || u === null) return undefined;
  const r = u as {
    prompt_tokens?: unknown;
    completion_tokens?: unknown;
    completion_tokens_details?: unknown;
  };
  if (typeof r.prompt_tokens !== "number" || typeof r.completion_tokens !== "number") return undefined;
  const out: StreamUsage = { promptTokens: r.prompt_tokens, completionTokens: r.completion_tokens };
  const d = r.completion_tokens_details as { reasoning_tokens?: unknown } | null | undefined;
  if (
    d &&
    typeof d.reasoning_tokens === "number" &&
    Number.isInteger(d.reasoning_tokens) &&
    d.reasoning_tokens >= 0
  )
    out.reasoningTokens = d.reasoning_tokens;
  return out;
}

/** At most 200 characters, for a reason that stays one short line. */
function clip(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/** The index of the first non-space byte at or after `at`. */
function valueAt(ev: Buffer, at: number): number {
  while (at < ev.length && (ev[at] === SPACE || ev[at] === 0x09)) at++;
  return at;
}

/** True when the event is `{"error": …}` or vLLM's `{"object": "error", …}`: a chunk starts otherwise. */
function isTopLevelError(ev: Buffer): boolean {
  let p = valueAt(ev, 0);
  if (ev[p] !== BRACE) return false;
  p = valueAt(ev, p + 1);
  if (matchAt(ev, p, ERROR_KEY)) return true;
  return matchAt(ev, p, OBJECT_KEY) && matchAt(ev, valueAt(ev, p + OBJECT_KEY.length), ERROR_VALUE);
}

/** Whether `key` occurs in `buf` at `at`; a plain loop, cheaper than a native call for short keys. */
function matchAt(buf: Buffer, at: number, key: Buffer): boolean {
  if (at + key.length > buf.length) return false;
  for (let k = 0; k < key.length; k++) if (buf[at + k] !== key[k]) return false;
  return true;
}

function parseUsage(json: string): StreamUsage | undefined {
  try {
    return usageOf((JSON.parse(json) as { usage?: unknown }).usage);
  } catch {
    // A malformed usage object is reported as no usage: unknown is never zero.
  }
  return undefined;
}

/** The message of an OpenAI-shaped error body, or the raw text when it has another shape. */
export function errorMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    if (typeof body.error === "string") return body.error;
    if (body.error && typeof body.error.message === "string") return body.error.message;
    if (typeof body.message === "string") return body.message;
  } catch {
    // not JSON
  }
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}
