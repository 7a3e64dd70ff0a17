import { describe, expect, it } from "vitest";
import {
  DEFAULT_MAX_LINE_BYTES,
  errorMessage,
  SseScanner,
  type SseSink,
  type StreamUsage,
} from "../../src/bench/sse-scan.js";

type Event =
  | { kind: "content"; usage?: StreamUsage }
  | { kind: "usage"; usage: StreamUsage }
  | { kind: "error"; message: string }
  | { kind: "invalid"; reason: string }
  | { kind: "done" };

class Recorder implements SseSink {
  events: Event[] = [];
  onStreamContent(usage: StreamUsage | undefined): void {
    this.events.push(usage === undefined ? { kind: "content" } : { kind: "content", usage });
  }
  onStreamUsage(usage: StreamUsage): void {
    this.events.push({ kind: "usage", usage });
  }
  onStreamError(message: string): void {
    this.events.push({ kind: "error", message });
  }
  onStreamDone(): void {
    this.events.push({ kind: "done" });
  }
  onStreamInvalid(reason: string): void {
    this.events.push({ kind: "invalid", reason });
  }
}

function scan(
  endpoint: "completions" | "chat",
  pieces: Iterable<string | Buffer>,
  continuousUsage = false,
  maxLineBytes?: number,
): { events: Event[]; done: boolean; failed: boolean; leftover: number } {
  const sink = new Recorder();
  const s = new SseScanner(endpoint, sink, continuousUsage, maxLineBytes);
  for (const p of pieces) s.push(typeof p === "string" ? Buffer.from(p) : p);
  return { events: sink.events, done: s.done, failed: s.failed, leftover: s.leftover };
}

const sse = (...data: string[]) => data.map((d) => `data: ${d}\n\n`).join("");

const cmpl = (text: string, extra = "") =>
  `{"id":"cmpl-1","object":"text_completion","created":1,"model":"m","choices":[{"index":0,"text":${JSON.stringify(text)},"logprobs":null,"finish_reason":null}]${extra}}`;
const chat = (delta: Record<string, unknown>, extra = "") =>
  `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":${JSON.stringify(delta)},"logprobs":null,"finish_reason":null}]${extra}}`;
const usageChunk = (p: number, c: number) =>
  `{"id":"cmpl-1","object":"text_completion","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":${p},"completion_tokens":${c},"total_tokens":${p + c}}}`;

const CONTENT: Event = { kind: "content" };
const DONE: Event = { kind: "done" };

describe("SseScanner", () => {
  // A stream with multi-byte UTF-8 text, an empty-text chunk, a usage chunk and [DONE].
  const STREAM = sse(cmpl(" héllo"), cmpl(""), cmpl(" wörld 🚀"), usageChunk(7, 2), "[DONE]");
  const EXPECTED: Event[] = [
    CONTENT,
    CONTENT,
    { kind: "usage", usage: { promptTokens: 7, completionTokens: 2 } },
    DONE,
  ];

  it("reads a completions stream: content chunks, usage, [DONE]", () => {
    const r = scan("completions", [STREAM]);
    expect(r.events).toEqual(EXPECTED);
    expect(r.done).toBe(true);
    expect(r.leftover).toBe(0);
  });

  it("gives the same events however the bytes are split", () => {
    const bytes = Buffer.from(STREAM);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const r = scan("completions", [bytes.subarray(0, cut), bytes.subarray(cut)]);
      expect(r.events, `split at byte ${cut}`).toEqual(EXPECTED);
    }
    for (let a = 1; a < bytes.length; a += 7) {
      for (let b = a; b < bytes.length; b += 13) {
        const r = scan("completions", [bytes.subarray(0, a), bytes.subarray(a, b), bytes.subarray(b)]);
        expect(r.events, `split at bytes ${a} and ${b}`).toEqual(EXPECTED);
      }
    }
    const oneByOne = scan(
      "completions",
      [...bytes].map((b) => Buffer.from([b])),
    );
    expect(oneByOne.events).toEqual(EXPECTED);
  });

  it("reports nothing for an incomplete line, and the event once its line ends", () => {
    const sink = new Recorder();
    const s = new SseScanner("completions", sink);
    const line = `data: ${cmpl(" a")}`;
    s.push(Buffer.from(line));
    expect(sink.events).toEqual([]);
    expect(s.leftover).toBe(Buffer.byteLength(line));
    s.push(Buffer.from("\n"));
    expect(sink.events).toEqual([CONTENT]);
  });

  it("accepts CRLF line endings, split anywhere (between CR and LF included)", () => {
    const stream = [cmpl(" a"), cmpl(""), usageChunk(3, 1), "[DONE]"]
      .map((d) => `data: ${d}\r\n\r\n`)
      .join("");
    const expected: Event[] = [
      CONTENT,
      { kind: "usage", usage: { promptTokens: 3, completionTokens: 1 } },
      DONE,
    ];
    const bytes = Buffer.from(stream);
    for (let cut = 0; cut <= bytes.length; cut++) {
      expect(scan("completions", [bytes.subarray(0, cut), bytes.subarray(cut)]).events).toEqual(expected);
    }
  });

  it("accepts data: without a space", () => {
    const r = scan("completions", [`data:${cmpl(" a")}\n\ndata:${usageChunk(1, 1)}\n\ndata:[DONE]\n\n`]);
    expect(r.events).toEqual([
      CONTENT,
      { kind: "usage", usage: { promptTokens: 1, completionTokens: 1 } },
      DONE,
    ]);
  });

  it("ignores comments, other fields and blank lines", () => {
    const r = scan("completions", [
      `: keep-alive\n\nevent: message\nid: 3\nretry: 100\ndata: ${cmpl(" a")}\n\n\n\ndata: [DONE]\n\n`,
    ]);
    expect(r.events).toEqual([CONTENT, DONE]);
  });

  it("does not count role-only, empty, null or reasoning-only chat deltas as content", () => {
    const r = scan("chat", [
      sse(
        chat({ role: "assistant" }),
        chat({ role: "assistant", content: "" }),
        chat({ content: null }),
        chat({ reasoning_content: "let me think" }),
        chat({ reasoning: "thinking more", content: null }),
        chat({ reasoning_content: "x", content: "" }),
        chat({}),
      ),
    ]);
    expect(r.events).toEqual([]);
  });

  it("reports non-empty reasoning deltas apart, to a sink that listens for them", () => {
    const seen: string[] = [];
    const sink: SseSink = {
      onStreamContent: () => seen.push("content"),
      onStreamReasoning: () => seen.push("reasoning"),
      onStreamUsage: (u) => seen.push(`usage ${u.completionTokens}/${u.reasoningTokens ?? "-"}`),
      onStreamError: () => seen.push("error"),
      onStreamDone: () => seen.push("done"),
      onStreamInvalid: () => seen.push("invalid"),
    };
    const s = new SseScanner("chat", sink, false);
    s.push(
      Buffer.from(
        sse(
          chat({ reasoning_content: "" }),
          chat({ reasoning_content: "let me think" }),
          chat({ reasoning: "more", content: null }),
          chat({ reasoning_content: "x", content: "" }),
          chat({ content: "answer" }),
          `{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4,"completion_tokens_details":{"reasoning_tokens":3}}}`,
          "[DONE]",
        ),
      ),
    );
    expect(seen).toEqual(["reasoning", "reasoning", "reasoning", "content", "usage 4/3", "done"]);
    // Completions have no reasoning deltas: a "reasoning" field there is nothing.
    const c: string[] = [];
    new SseScanner("completions", { ...sink, onStreamReasoning: () => c.push("reasoning") }, false).push(
      Buffer.from(sse(`{"choices":[{"index":0,"text":"","reasoning":"r"}]}`)),
    );
    expect(c).toEqual([]);
  });

  it("counts a chat delta with text content, with or without a role", () => {
    const r = scan("chat", [
      sse(
        chat({ role: "assistant", content: "Hi" }),
        chat({ content: " there" }),
        chat({ reasoning_content: null, content: "!" }),
        "[DONE]",
      ),
    ]);
    expect(r.events).toEqual([CONTENT, CONTENT, CONTENT, DONE]);
  });

  it("looks for the endpoint's own key: text for completions, content for chat", () => {
    expect(scan("completions", [sse(chat({ content: "x" }))]).events).toEqual([]);
    expect(scan("chat", [sse(cmpl("x"))]).events).toEqual([]);
  });

  it("an empty completions text is not content", () => {
    expect(scan("completions", [sse(cmpl(""))]).events).toEqual([]);
  });

  it("is not confused by generated text that contains the key patterns, escaped", () => {
    // The text itself holds `"text":"` and `"content":"`: inside a JSON string every quote is
    // escaped, so the scanner must find the real key and judge the real value.
    const tricky = ' "text":"x" and "content":"y" \\"text\\":\\"';
    expect(scan("completions", [sse(cmpl(tricky))]).events).toEqual([CONTENT]);
    expect(scan("chat", [sse(chat({ content: tricky }))]).events).toEqual([CONTENT]);
    // An empty real value followed by a field whose text contains the pattern.
    const emptyThenTricky = `{"choices":[{"index":0,"text":"","logprobs":{"tokens":[${JSON.stringify('"text":"a')}]}}]}`;
    expect(scan("completions", [sse(emptyThenTricky)]).events).toEqual([]);
    // A field before the real key whose text contains the pattern, with an empty real value.
    const trickyThenEmpty = `{"choices":[{"index":0,"logprobs":{"tokens":[${JSON.stringify('"text":"a')}]},"text":""}]}`;
    expect(scan("completions", [sse(trickyThenEmpty)]).events).toEqual([]);
    const chatTricky = `{"choices":[{"index":0,"delta":{"reasoning_content":${JSON.stringify('"content":"z')},"content":null}}]}`;
    expect(scan("chat", [sse(chatTricky)]).events).toEqual([]);
  });

  it("parses the final usage chunk and a usage chunk with content", () => {
    const r = scan("completions", [sse(cmpl(" a"), usageChunk(12, 34), "[DONE]")]);
    expect(r.events).toEqual([
      CONTENT,
      { kind: "usage", usage: { promptTokens: 12, completionTokens: 34 } },
      DONE,
    ]);
    // `"usage":null` on every chunk (OpenAI with include_usage) is no usage.
    expect(scan("completions", [sse(cmpl(" a", ',"usage":null'))]).events).toEqual([CONTENT]);
  });

  const u = (c: number) => `,"usage":{"prompt_tokens":5,"completion_tokens":${c},"total_tokens":${5 + c}}`;

  it("reports continuous usage with each content chunk", () => {
    const r = scan(
      "completions",
      [sse(cmpl("", u(0)), cmpl(" a", u(1)), cmpl(" b c", u(3)), usageChunk(5, 3), "[DONE]")],
      true,
    );
    expect(r.events).toEqual([
      { kind: "usage", usage: { promptTokens: 5, completionTokens: 0 } },
      { kind: "content", usage: { promptTokens: 5, completionTokens: 1 } },
      { kind: "content", usage: { promptTokens: 5, completionTokens: 3 } },
      { kind: "usage", usage: { promptTokens: 5, completionTokens: 3 } },
      DONE,
    ]);
    const rc = scan("chat", [sse(chat({ content: "a" }, u(1)))], true);
    expect(rc.events).toEqual([{ kind: "content", usage: { promptTokens: 5, completionTokens: 1 } }]);
  });

  it("keeps the final usage a server sends on its last content chunk", () => {
    // Some servers put `usage` on the chunk with the last token and finish_reason instead of a
    // chunk of its own: it is the request's only usage and must not be lost.
    const r = scan("completions", [sse(cmpl(" a"), cmpl(" b", u(2)), "[DONE]")]);
    const usage = r.events.flatMap((e) => (e.kind === "content" || e.kind === "usage" ? [e.usage] : []));
    expect(r.events.filter((e) => e.kind === "content")).toHaveLength(2);
    expect(usage.at(-1)).toEqual({ promptTokens: 5, completionTokens: 2 });
  });

  it("treats a malformed usage object as no usage", () => {
    const bad = `{"choices":[{"index":0,"text":" a"}],"usage":{"prompt_tokens":"many"}}`;
    expect(scan("completions", [sse(bad)]).events).toEqual([CONTENT]);
  });

  it("reports an {error} event with its message, and vLLM's object:error", () => {
    const r = scan("completions", [
      sse(cmpl(" a"), '{"error":{"message":"out of memory","type":"server_error","code":500}}', "[DONE]"),
    ]);
    expect(r.events).toEqual([CONTENT, { kind: "error", message: "out of memory" }, DONE]);
    expect(scan("chat", [sse('{"error":"plain string"}')]).events).toEqual([
      { kind: "error", message: "plain string" },
    ]);
    expect(
      scan("chat", [sse('{"object":"error","message":"bad things","type":"BadRequestError","code":400}')])
        .events,
    ).toEqual([{ kind: "error", message: "bad things" }]);
  });

  it("a content chunk that merely has an error field inside is not an error", () => {
    const r = scan("completions", [sse(`{"choices":[{"index":0,"text":" a","logprobs":{"error":null}}]}`)]);
    expect(r.events).toEqual([CONTENT]);
  });

  it("stops at [DONE] and ignores what follows", () => {
    const r = scan("completions", [sse(cmpl(" a"), "[DONE]", cmpl(" b")), sse(cmpl(" c"))]);
    expect(r.events).toEqual([CONTENT, DONE]);
    expect(r.done).toBe(true);
  });

  it("reads JSON written with spaces after colons (Python's json.dumps style)", () => {
    const r = scan("completions", [
      sse(
        '{"choices": [{"index": 0, "text": " hi"}]}',
        '{"choices": [{"index": 0, "text": ""}]}',
        '{"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 1}}',
        "[DONE]",
      ),
    ]);
    expect(r.events).toEqual([
      { kind: "content" },
      { kind: "usage", usage: { promptTokens: 3, completionTokens: 1 } },
      { kind: "done" },
    ]);
    const e = scan("chat", [sse('{"object": "error", "message": "boom"}')]);
    expect(e.events).toEqual([{ kind: "error", message: "boom" }]);
  });

  it("[DONE] must be the whole data: anything else is a chunk, and not JSON", () => {
    const r = scan("completions", [sse("[DONE] ", "[DONE]")]);
    expect(r.events).toEqual([
      { kind: "invalid", reason: expect.stringMatching(/^invalid JSON in chunk 1: /) },
    ]);
    expect(r.done).toBe(false);
  });
});

describe("SseScanner on broken streams", () => {
  it("stops at the first event that is not JSON, numbering it among the data events", () => {
    const r = scan("completions", [
      sse(cmpl(" a"), cmpl(""), '{"choices":[{"text":" b"}', cmpl(" c"), "[DONE]"),
    ]);
    expect(r.events).toEqual([CONTENT, { kind: "invalid", reason: expect.any(String) }]);
    const reason = (r.events[1] as { reason: string }).reason;
    expect(reason).toMatch(/^invalid JSON in chunk 3: /);
    // V8's own description of the fault follows, on one line.
    expect(reason.length).toBeGreaterThan("invalid JSON in chunk 3: ".length);
    expect(reason).not.toMatch(/\n/);
    expect(r.failed).toBe(true);
    expect(r.done).toBe(false);
  });

  it("finds a broken event however the stream is split", () => {
    const bytes = Buffer.from(sse(cmpl(" a"), '{"choices":[{"text":" b"}]]', "[DONE]"));
    for (let cut = 0; cut <= bytes.length; cut++) {
      const r = scan("completions", [bytes.subarray(0, cut), bytes.subarray(cut)]);
      expect(
        r.events.map((e) => e.kind),
        `split at byte ${cut}`,
      ).toEqual(["content", "invalid"]);
    }
  });

  it("refuses a chunk that is JSON but not an object", () => {
    const r = scan("completions", [sse("42", cmpl(" a"))]);
    expect(r.events).toEqual([{ kind: "invalid", reason: "chunk 1 is not a JSON object: 42" }]);
  });

  it("refuses a line longer than the limit, complete or still arriving, once", () => {
    const long = `data: ${cmpl("x".repeat(2000))}\n\n`;
    const whole = scan("completions", [long], false, 1024);
    expect(whole.events).toEqual([{ kind: "invalid", reason: "SSE line over 1 KiB" }]);
    // In small pieces the fault is found as soon as the buffered part passes the limit.
    const pieces = Buffer.from(long);
    const sink = new Recorder();
    const s = new SseScanner("completions", sink, false, 1024);
    let at = 0;
    while (at < pieces.length && sink.events.length === 0) {
      s.push(pieces.subarray(at, at + 10));
      at += 10;
    }
    expect(sink.events).toEqual([{ kind: "invalid", reason: "SSE line over 1 KiB" }]);
    expect(at).toBeLessThanOrEqual(1024 + 10);
    s.push(pieces.subarray(at));
    s.push(Buffer.from(sse(cmpl(" a"), "[DONE]")));
    expect(sink.events).toHaveLength(1);
    expect(s.leftover).toBe(0);
  });

  it("refuses a line over the default 8 MiB", () => {
    const mib = Buffer.alloc(1024 * 1024, 0x61);
    const r = scan(
      "completions",
      (function* () {
        yield 'data: {"choices":[{"text":"';
        for (let i = 0; i < 9; i++) yield mib;
      })(),
    );
    expect(DEFAULT_MAX_LINE_BYTES).toBe(8 * 1024 * 1024);
    expect(r.events).toEqual([{ kind: "invalid", reason: "SSE line over 8 MiB" }]);
    expect(r.leftover).toBe(0);
  });

  it("reads a line of a few MB delivered in many small pieces (buffering linear in its length)", () => {
    // 4 MiB of text in 64-byte pieces: 65,536 pushes. Joining the pending bytes again on every
    // push would copy about 137 GB and never finish; the pieces are joined once, at the line's end.
    const text = "y".repeat(4 * 1024 * 1024);
    const bytes = Buffer.from(sse(cmpl(text), usageChunk(3, 1), "[DONE]"));
    const pieces = (function* () {
      for (let at = 0; at < bytes.length; at += 64) yield bytes.subarray(at, at + 64);
    })();
    const r = scan("completions", pieces);
    expect(r.events).toEqual([
      CONTENT,
      { kind: "usage", usage: { promptTokens: 3, completionTokens: 1 } },
      DONE,
    ]);
    expect(r.failed).toBe(false);
  });
});

describe("errorMessage", () => {
  it("takes an OpenAI error's message, a string error, a top-level message, or the text", () => {
    expect(errorMessage('{"error":{"message":"m1","type":"t"}}')).toBe("m1");
    expect(errorMessage('{"error":"m2"}')).toBe("m2");
    expect(errorMessage('{"object":"error","message":"m3"}')).toBe("m3");
    expect(errorMessage("Bad Gateway")).toBe("Bad Gateway");
    expect(errorMessage("x".repeat(400))).toBe(`${"x".repeat(300)}…`);
  });
});
