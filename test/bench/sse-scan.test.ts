import { describe, expect, it } from "vitest";
import { errorMessage, SseScanner, type SseSink, type StreamUsage } from "../../src/bench/sse-scan.js";

type Event =
  | { kind: "content"; usage?: StreamUsage }
  | { kind: "usage"; usage: StreamUsage }
  | { kind: "error"; message: string }
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
}

function scan(
  endpoint: "completions" | "chat",
  pieces: (string | Buffer)[],
  continuousUsage = false,
): { events: Event[]; done: boolean; leftover: number } {
  const sink = new Recorder();
  const s = new SseScanner(endpoint, sink, continuousUsage);
  for (const p of pieces) s.push(typeof p === "string" ? Buffer.from(p) : p);
  return { events: sink.events, done: s.done, leftover: s.leftover };
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
    const usage = r.events.flatMap((e) => (e.kind === "done" || e.kind === "error" ? [] : [e.usage]));
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

  it("[DONE] must be the whole data", () => {
    const r = scan("completions", [sse("[DONE] ", "[DONE]x")]);
    expect(r.events).toEqual([]);
    expect(r.done).toBe(false);
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
