/**
 * The harness's stream reader: finds server-sent-event boundaries by scanning bytes and looks
 * only at the fields a trace needs, so a token costs a few `indexOf` calls instead of a
 * `JSON.parse`. An event is parsed as JSON only when it carries `usage` or `error`, which
 * happens once per request.
 *
 * Content detection: a completions chunk carries content when its `"text":"` is non-empty; a chat
 * chunk when its `"content":"` is non-empty. A role-only delta, an empty string, `content: null`
 * and reasoning-only deltas (`reasoning_content`, `reasoning`) are not content, so they never
 * count as the first token. Inside a JSON string every quote is escaped, so these patterns
 * cannot match the generated text itself.
 */

const TEXT_KEY = Buffer.from('"text":');
const CONTENT_KEY = Buffer.from('"content":');
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
}

/** What the scanner reports for each complete event. */
export interface SseSink {
  /** A chunk with content; `usage` is the running count when the server sends continuous usage. */
  onStreamContent(usage: StreamUsage | undefined): void;
  onStreamUsage(usage: StreamUsage): void;
  onStreamError(message: string): void;
  onStreamDone(): void;
}

export class SseScanner {
  private pending: Buffer | undefined;
  private readonly contentKey: Buffer;
  /** Where the content key sat in the previous event: chunks of one stream share a layout. */
  private hint = -1;
  done = false;

  constructor(
    endpoint: "completions" | "chat",
    private readonly sink: SseSink,
    /** True when the request asked for usage on every chunk (`continuous_usage_stats`). */
    private readonly continuousUsage = false,
  ) {
    this.contentKey = endpoint === "chat" ? CONTENT_KEY : TEXT_KEY;
  }

  /** Feeds bytes as they arrive; complete events are reported synchronously. */
  push(chunk: Buffer): void {
    let buf = chunk;
    if (this.pending !== undefined) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = undefined;
    }
    let start = 0;
    const len = buf.length;
    // Lines are split on LF; an empty line (LF LF or LF CR LF) ends an event. Servers send one
    // `data:` line per event, so each data line is handled as its own event.
    while (start < len && !this.done) {
      const nl = buf.indexOf(LF, start);
      if (nl === -1) break;
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
    if (start < len && !this.done) this.pending = buf.subarray(start);
  }

  /** Bytes left over that never formed a complete line. */
  get leftover(): number {
    return this.pending?.length ?? 0;
  }

  private event(buf: Buffer, from: number, to: number): void {
    // Every search stays inside this event: a view costs less than scanning the rest of a
    // buffer that may hold a whole reply.
    const ev = buf.subarray(from, to);
    if (ev.length === DONE.length && ev.equals(DONE)) {
      this.done = true;
      this.sink.onStreamDone();
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
    const usage = this.usageIn(ev, 0);
    if (usage !== undefined) this.sink.onStreamUsage(usage);
  }

  /** The usage object of this event, when it has one (`"usage": null` has none). */
  private usageIn(ev: Buffer, from: number): StreamUsage | undefined {
    const at = ev.indexOf(USAGE_KEY, from);
    if (at === -1 || ev[valueAt(ev, at + USAGE_KEY.length)] !== BRACE) return undefined;
    return parseUsage(ev.toString("utf8"));
  }
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
    const u = (JSON.parse(json) as { usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } })
      .usage;
    if (u && typeof u.prompt_tokens === "number" && typeof u.completion_tokens === "number") {
      return { promptTokens: u.prompt_tokens, completionTokens: u.completion_tokens };
    }
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
