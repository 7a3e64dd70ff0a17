/**
 * The simulated OpenAI-compatible server: reply shapes, errors, the ground truth it records
 * (timing included), clean handling of clients that leave, and its child-process entry.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { connect } from "node:net";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type SimOptions, type SimServer, startSimServer } from "../../src/runtimes/sim/server.js";

const ROOT = join(import.meta.dirname, "..", "..");

interface Chunk {
  id: string;
  object: string;
  model: string;
  choices: {
    index: number;
    text?: string;
    delta?: { role?: string; content?: string; reasoning_content?: string };
    finish_reason: string | null;
  }[];
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** Parses an SSE body into its events; checks the framing on the way. */
function parseSse(text: string): { events: Chunk[]; done: boolean } {
  expect(text.endsWith("\n\n")).toBe(true);
  const events: Chunk[] = [];
  let done = false;
  for (const block of text.split("\n\n")) {
    if (block === "") continue;
    expect(block.startsWith("data: ")).toBe(true);
    const data = block.slice(6);
    expect(done).toBe(false); // nothing after [DONE]
    if (data === "[DONE]") done = true;
    else events.push(JSON.parse(data) as Chunk);
  }
  return { events, done };
}

function post(server: SimServer, path: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

const servers: SimServer[] = [];
async function sim(opts: SimOptions = {}): Promise<SimServer> {
  const s = await startSimServer(opts);
  servers.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe("completions", () => {
  it("streams max_tokens tokens in chunks of tokensPerChunk, then usage and [DONE]", async () => {
    const server = await sim({ tokensPerChunk: 3 });
    const res = await post(
      server,
      "/v1/completions",
      {
        model: "sim",
        prompt: "one two  three\nfour",
        max_tokens: 8,
        stream: true,
        stream_options: { include_usage: true },
      },
      { "x-request-id": "req-1" },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    expect(res.headers.get("cache-control")).toBe("no-cache");
    expect(res.headers.get("x-request-id")).toBe("req-1");
    const { events, done } = parseSse(await res.text());
    expect(done).toBe(true);
    expect(events).toHaveLength(4); // 3 + 3 + 2 tokens, then usage
    const content = events.slice(0, 3);
    expect(content.map((e) => e.choices[0]!.text)).toEqual([" tok tok tok", " tok tok tok", " tok tok"]);
    expect(content.map((e) => e.choices[0]!.finish_reason)).toEqual([null, null, "length"]);
    for (const e of events) {
      expect(e.id).toBe("cmpl-req-1");
      expect(e.object).toBe("text_completion");
      expect(e.model).toBe("sim");
    }
    expect(content.every((e) => e.usage === undefined)).toBe(true);
    expect(events[3]!.choices).toEqual([]);
    expect(events[3]!.usage).toEqual({ prompt_tokens: 4, completion_tokens: 8, total_tokens: 12 });

    const [gt] = server.groundTruth();
    expect(gt).toMatchObject({ id: "req-1", promptTokens: 4, completionTokens: 8, status: 200 });
    expect(gt!.tokenMs).toHaveLength(3);
    expect(gt!.firstTokenMs).toBe(gt!.tokenMs[0]);
    expect(gt!.endMs).toBeGreaterThanOrEqual(gt!.tokenMs[2]!);
  });

  it("with writeEach, writes every chunk in its own turn and sends the same reply", async () => {
    const server = await sim({ writeEach: true });
    const res = await post(server, "/v1/completions", {
      model: "sim",
      prompt: "a b",
      max_tokens: 5,
      stream: true,
      stream_options: { include_usage: true },
    });
    const { events, done } = parseSse(await res.text());
    expect(done).toBe(true);
    expect(events.slice(0, 5).map((e) => e.choices[0]!.text)).toEqual(Array(5).fill(" tok"));
    expect(events[5]!.usage).toEqual({ prompt_tokens: 2, completion_tokens: 5, total_tokens: 7 });
    // One event-loop turn per chunk: the writes are spread in time, not one synchronous burst.
    const [gt] = server.groundTruth();
    expect(gt!.tokenMs).toHaveLength(5);
    expect(gt!.tokenMs[4]!).toBeGreaterThan(gt!.tokenMs[0]!);
  });

  it("uses outputTokens over max_tokens, 16 when neither is given, and says stop below max_tokens", async () => {
    const fixed = await sim({ outputTokens: 5 });
    const a = parseSse(
      await (await post(fixed, "/v1/completions", { prompt: "x", max_tokens: 50, stream: true })).text(),
    );
    expect(a.events).toHaveLength(5);
    expect(a.events[4]!.choices[0]!.finish_reason).toBe("stop");
    const free = await sim();
    const b = parseSse(await (await post(free, "/v1/completions", { prompt: "x", stream: true })).text());
    expect(b.events).toHaveLength(16);
    expect(b.events[15]!.choices[0]!.finish_reason).toBe("length");
  });

  it("answers a whole reply when not streamed", async () => {
    const server = await sim();
    const res = await post(server, "/v1/completions", { prompt: ["a b c"], max_tokens: 3 });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    const rid = res.headers.get("x-request-id");
    expect(rid).toBeTruthy();
    const body = (await res.json()) as Chunk;
    expect(body.id).toBe(`cmpl-${rid}`);
    expect(body.object).toBe("text_completion");
    expect(body.choices).toEqual([
      { index: 0, text: " tok tok tok", logprobs: null, finish_reason: "length" },
    ]);
    expect(body.usage).toEqual({ prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 });
    const [gt] = server.groundTruth();
    expect(gt).toMatchObject({ id: rid, promptTokens: 3, completionTokens: 3, status: 200, tokenMs: [] });
    expect(gt!.firstTokenMs).toBeUndefined();
  });

  it("counts token-id prompts by their ids", async () => {
    const server = await sim();
    const body = (await (
      await post(server, "/v1/completions", { prompt: [5, 6, 7, 8], max_tokens: 1 })
    ).json()) as Chunk;
    expect(body.usage!.prompt_tokens).toBe(4);
  });

  it("reports running usage on every chunk with continuous_usage_stats", async () => {
    const server = await sim({ tokensPerChunk: 2 });
    const res = await post(server, "/v1/completions", {
      prompt: "a b",
      max_tokens: 5,
      stream: true,
      stream_options: { include_usage: true, continuous_usage_stats: true },
    });
    const { events } = parseSse(await res.text());
    expect(events.map((e) => e.usage?.completion_tokens)).toEqual([2, 4, 5, 5]);
    expect(events.every((e) => e.usage!.prompt_tokens === 2)).toBe(true);
    expect(events.every((e) => e.usage!.total_tokens === e.usage!.completion_tokens + 2)).toBe(true);
  });
});

describe("chat", () => {
  it("streams leading role, empty and reasoning-only chunks before the content", async () => {
    const server = await sim({ leadingEmptyChunk: true, ttftMs: 20 });
    const res = await post(server, "/v1/chat/completions", {
      messages: [
        { role: "system", content: "be brief" },
        { role: "user", content: [{ type: "text", text: "hello there world" }] },
      ],
      max_completion_tokens: 3,
      stream: true,
      stream_options: { include_usage: true },
    });
    const { events, done } = parseSse(await res.text());
    expect(done).toBe(true);
    expect(events.map((e) => e.choices[0]?.delta)).toEqual([
      { role: "assistant" },
      { content: "" },
      { reasoning_content: "" },
      { content: " tok" },
      { content: " tok" },
      { content: " tok" },
      undefined,
    ]);
    expect(events.every((e) => e.object === "chat.completion.chunk" && e.id.startsWith("chatcmpl-"))).toBe(
      true,
    );
    expect(events[5]!.choices[0]!.finish_reason).toBe("length");
    expect(events[6]!.usage).toEqual({ prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 });
    const [gt] = server.groundTruth();
    expect(gt!.tokenMs).toHaveLength(3);
    expect(gt!.firstTokenMs! - gt!.receivedMs).toBeGreaterThanOrEqual(20);
  });

  it("puts the role on the first content chunk without leading chunks", async () => {
    const server = await sim();
    const res = await post(server, "/v1/chat/completions", {
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 2,
      stream: true,
    });
    const { events } = parseSse(await res.text());
    expect(events.map((e) => e.choices[0]!.delta)).toEqual([
      { role: "assistant", content: " tok" },
      { content: " tok" },
    ]);
  });

  it("answers a whole chat reply", async () => {
    const server = await sim({ usageSkew: 2 });
    const res = await post(server, "/v1/chat/completions", {
      model: "sim",
      messages: [
        { role: "user", content: "a b c d" },
        { role: "assistant", content: null },
      ],
      max_tokens: 4,
    });
    const body = (await res.json()) as {
      object: string;
      choices: { message: { role: string; content: string }; finish_reason: string }[];
      usage: Chunk["usage"];
    };
    expect(body.object).toBe("chat.completion");
    expect(body.choices[0]!.message).toEqual({ role: "assistant", content: " tok tok tok tok" });
    expect(body.choices[0]!.finish_reason).toBe("length");
    expect(body.usage).toEqual({ prompt_tokens: 4, completion_tokens: 6, total_tokens: 10 });
    expect(server.groundTruth()[0]!.completionTokens).toBe(4); // the truth is never skewed
  });
});

describe("usageSkew and errorEvery", () => {
  it("skews the reported completion tokens, streamed too", async () => {
    const server = await sim({ usageSkew: -1 });
    const res = await post(server, "/v1/completions", {
      prompt: "p",
      max_tokens: 4,
      stream: true,
      stream_options: { include_usage: true, continuous_usage_stats: true },
    });
    const { events } = parseSse(await res.text());
    expect(events).toHaveLength(5);
    expect(events.map((e) => e.usage!.completion_tokens)).toEqual([1, 2, 3, 3, 3]);
  });

  it("fails every Nth generation request with a 500", async () => {
    const server = await sim({ errorEvery: 3 });
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) {
      const res = await post(server, i % 2 ? "/v1/chat/completions" : "/v1/completions", {
        prompt: "p",
        messages: [{ role: "user", content: "p" }],
        max_tokens: 2,
        stream: true,
      });
      statuses.push(res.status);
      if (res.status === 500) {
        const body = (await res.json()) as ErrorBody;
        expect(body.error.type).toBe("server_error");
        expect(body.error.message).toMatch(/simulated/);
      } else await res.text();
    }
    expect(statuses).toEqual([200, 200, 500, 200, 200, 500, 200]);
    expect(server.requests).toBe(7);
    expect(server.groundTruth().map((g) => g.status)).toEqual(statuses);
  });
});

describe("tokenize", () => {
  it("answers vLLM's shape for a prompt and for messages", async () => {
    const server = await sim({ maxModelLen: 4096 });
    const a = await (
      await post(server, "/tokenize", { model: "sim", prompt: "  the quick\tbrown fox " })
    ).json();
    expect(a).toEqual({ count: 4, max_model_len: 4096, tokens: [0, 1, 2, 3] });
    const b = await (
      await post(server, "/tokenize", {
        messages: [
          { role: "user", content: "a b" },
          { role: "assistant", content: "c" },
        ],
      })
    ).json();
    expect(b).toEqual({ count: 3, max_model_len: 4096, tokens: [0, 1, 2] });
  });

  it("answers llama.cpp's shape for content", async () => {
    const server = await sim();
    expect(await (await post(server, "/tokenize", { content: "x y" })).json()).toEqual({ tokens: [0, 1] });
  });

  it("counts what generation reports as prompt tokens", async () => {
    const server = await sim();
    const prompt = "Some prompt,\nwith\u00a0odd  spacing\u3000and words.";
    const tok = (await (await post(server, "/tokenize", { prompt })).json()) as { count: number };
    const gen = (await (await post(server, "/v1/completions", { prompt, max_tokens: 1 })).json()) as Chunk;
    expect(tok.count).toBe(7);
    expect(gen.usage!.prompt_tokens).toBe(tok.count);
  });
});

describe("refusals", () => {
  const cases: [string, string, unknown, number, string | null][] = [
    ["bad JSON", "/v1/completions", "{nope", 400, "body"],
    ["a body that is not an object", "/v1/completions", "[1]", 400, "body"],
    ["missing prompt", "/v1/completions", { max_tokens: 4 }, 400, "prompt"],
    ["an empty prompt", "/v1/completions", { prompt: "" }, 400, "prompt"],
    ["prompt of the wrong type", "/v1/completions", { prompt: 42 }, 400, "prompt"],
    ["a bad token id", "/v1/completions", { prompt: [1, -2] }, 400, "prompt[1]"],
    ["max_tokens of the wrong type", "/v1/completions", { prompt: "p", max_tokens: "16" }, 400, "max_tokens"],
    ["max_tokens of zero", "/v1/completions", { prompt: "p", max_tokens: 0 }, 400, "max_tokens"],
    ["fractional max_tokens", "/v1/completions", { prompt: "p", max_tokens: 1.5 }, 400, "max_tokens"],
    ["max_tokens past the context", "/v1/completions", { prompt: "p", max_tokens: 1e9 }, 400, "max_tokens"],
    ["stream of the wrong type", "/v1/completions", { prompt: "p", stream: "yes" }, 400, "stream"],
    [
      "a bad include_usage",
      "/v1/completions",
      { prompt: "p", stream: true, stream_options: { include_usage: 1 } },
      400,
      "stream_options.include_usage",
    ],
    ["an unknown model", "/v1/completions", { model: "gpt-9", prompt: "p" }, 404, "model"],
    ["missing messages", "/v1/chat/completions", { max_tokens: 2 }, 400, "messages"],
    ["empty messages", "/v1/chat/completions", { messages: [] }, 400, "messages"],
    [
      "a message without role",
      "/v1/chat/completions",
      { messages: [{ content: "x" }] },
      400,
      "messages[0].role",
    ],
    [
      "bad max_completion_tokens",
      "/v1/chat/completions",
      { messages: [{ role: "user", content: "x" }], max_completion_tokens: -1 },
      400,
      "max_completion_tokens",
    ],
    ["tokenize with nothing to count", "/tokenize", { foo: 1 }, 400, "prompt"],
    ["tokenize for an unknown model", "/tokenize", { model: "other", prompt: "x" }, 404, "model"],
    ["an unknown route", "/v1/embeddings", { input: "x" }, 404, null],
  ];
  it.each(cases)("refuses %s", async (_name, path, body, status, param) => {
    const server = await sim();
    const res = await post(server, path, body);
    expect(res.status).toBe(status);
    const err = (await res.json()) as ErrorBody;
    expect(err.error.param).toBe(param);
    expect(typeof err.error.message).toBe("string");
    expect(err.error.type).toBe(status === 400 ? "invalid_request_error" : "not_found_error");
    // The server still serves.
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });

  it("refuses a body over the limit with 413", async () => {
    const server = await sim({ maxBodyBytes: 100 });
    const res = await post(server, "/v1/completions", { prompt: "x ".repeat(100) });
    expect(res.status).toBe(413);
    expect(((await res.json()) as ErrorBody).error.param).toBe("body");
  });
});

describe("around generation", () => {
  it("serves health, models, metrics, ground truth and a 404 for unknown GETs", async () => {
    const server = await sim({ model: "org/m-1" });
    expect(await (await fetch(`${server.url}/health`)).json()).toEqual({ status: "ok" });
    const models = (await (await fetch(`${server.url}/v1/models`)).json()) as {
      object: string;
      data: { id: string; object: string }[];
    };
    expect(models.object).toBe("list");
    expect(models.data[0]).toMatchObject({ id: "org/m-1", object: "model" });
    await (await post(server, "/v1/completions", { model: "org/m-1", prompt: "p", max_tokens: 2 })).text();
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^sim_requests_total 1$/m);
    expect(metrics).toMatch(/^sim_requests_running 0$/m);
    const truth = (await (await fetch(`${server.url}/sim/ground-truth`)).json()) as unknown[];
    expect(truth).toHaveLength(1);
    expect((await fetch(`${server.url}/sim/ground-truth`, { method: "DELETE" })).status).toBe(204);
    expect(await (await fetch(`${server.url}/sim/ground-truth`)).json()).toEqual([]);
    expect(server.groundTruth()).toEqual([]);
    const nf = await fetch(`${server.url}/nope`);
    expect(nf.status).toBe(404);
    expect(((await nf.json()) as ErrorBody).error.type).toBe("not_found_error");
  });

  it("keeps no ground truth when told not to", async () => {
    const server = await sim({ recordGroundTruth: false });
    await (await post(server, "/v1/completions", { prompt: "p", max_tokens: 2, stream: true })).text();
    expect(server.groundTruth()).toEqual([]);
    expect(server.requests).toBe(1);
  });

  it("keeps at most groundTruthLimit records", async () => {
    const server = await sim({ groundTruthLimit: 2 });
    for (let i = 0; i < 3; i++)
      await (await post(server, "/v1/completions", { prompt: "p", max_tokens: 1 })).text();
    expect(server.groundTruth()).toHaveLength(2);
    const res = await fetch(`${server.url}/sim/ground-truth`);
    expect(res.headers.get("x-sim-ground-truth-dropped")).toBe("1");
    server.clearGroundTruth();
    expect(server.groundTruth()).toEqual([]);
  });
});

describe("timing", () => {
  it("records TTFT and ITL close to the configured delays", async () => {
    const server = await sim({ ttftMs: 30, itlMs: 10, outputTokens: 10 });
    const sent = performance.now();
    const res = await post(server, "/v1/completions", { prompt: "p", stream: true });
    const reader = res.body!.getReader();
    let firstByteMs: number | undefined;
    let text = "";
    const decoder = new TextDecoder();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      const s = decoder.decode(value, { stream: true });
      if (firstByteMs === undefined && s.includes('"text":" tok"')) firstByteMs = performance.now();
      text += s;
    }
    expect(parseSse(text).events).toHaveLength(10);
    const [gt] = server.groundTruth();
    const ttft = gt!.firstTokenMs! - gt!.receivedMs;
    expect(ttft).toBeGreaterThanOrEqual(30);
    expect(ttft).toBeLessThanOrEqual(45);
    const gaps = gt!.tokenMs.slice(1).map((t, i) => t - gt!.tokenMs[i]!);
    expect(gaps).toHaveLength(9);
    for (const g of gaps) {
      expect(g).toBeGreaterThanOrEqual(10);
      expect(g).toBeLessThanOrEqual(40);
    }
    const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    expect(mean).toBeLessThanOrEqual(15);
    // Same process here, so the client's view can be compared: it never sees a token early.
    expect(firstByteMs! - sent).toBeGreaterThanOrEqual(ttft);
  });

  it("delays a whole reply by the time its stream would take", async () => {
    const server = await sim({ ttftMs: 20, itlMs: 5, outputTokens: 5 });
    const t0 = performance.now();
    await (await post(server, "/v1/completions", { prompt: "p" })).json();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(40);
    const [gt] = server.groundTruth();
    expect(gt!.endMs - gt!.receivedMs).toBeGreaterThanOrEqual(40);
  });

  it("jitters each delay within its bounds", async () => {
    const gapsOf = async (seed: number): Promise<number[]> => {
      const server = await sim({ ttftMs: 10, itlMs: 8, jitterMs: 4, outputTokens: 12, seed });
      await (await post(server, "/v1/completions", { prompt: "p", stream: true })).text();
      const [gt] = server.groundTruth();
      const gaps = gt!.tokenMs.slice(1).map((t, i) => t - gt!.tokenMs[i]!);
      for (const g of gaps) {
        expect(g).toBeGreaterThanOrEqual(4);
        expect(g).toBeLessThanOrEqual(40);
      }
      return gaps;
    };
    const a = await gapsOf(7);
    expect(Math.max(...a) - Math.min(...a)).toBeGreaterThan(1); // it does jitter
  });

  it("writes zero-delay streams for many concurrent requests", async () => {
    const server = await sim({ outputTokens: 64 });
    const results = await Promise.all(
      Array.from({ length: 100 }, async () => {
        const res = await post(server, "/v1/completions", { prompt: "p", stream: true });
        return parseSse(await res.text()).events.length;
      }),
    );
    expect(results.every((n) => n === 64)).toBe(true);
    expect(server.groundTruth()).toHaveLength(100);
    expect(server.groundTruth().every((g) => g.tokenMs.length === 64)).toBe(true);
  });
});

describe("clients that leave", () => {
  it("stops a stream whose client disconnected and clears its timers", async () => {
    const server = await startSimServer({ ttftMs: 5, itlMs: 50, outputTokens: 1000 });
    try {
      const res = await post(server, "/v1/completions", { prompt: "p", stream: true });
      const reader = res.body!.getReader();
      await reader.read();
      expect(server.running).toBe(1);
      await reader.cancel();
      const deadline = Date.now() + 5000;
      while (server.running > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(server.running).toBe(0);
      const [gt] = server.groundTruth();
      expect(gt!.aborted).toBe(true);
      expect(gt!.completionTokens).toBeLessThan(1000);
      expect(gt!.tokenMs.length).toBe(gt!.completionTokens);
    } finally {
      const t0 = performance.now();
      await server.close();
      expect(performance.now() - t0).toBeLessThan(1000);
    }
  });

  it("closes promptly with streams still running", async () => {
    const server = await startSimServer({ itlMs: 1000, outputTokens: 100 });
    const res = await post(server, "/v1/completions", { prompt: "p", stream: true });
    const reader = res.body!.getReader();
    await reader.read();
    const t0 = performance.now();
    await server.close();
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(server.running).toBe(0);
    const drain = async (): Promise<void> => {
      for (;;) if ((await reader.read()).done) return;
    };
    await expect(drain()).rejects.toThrow(); // cut mid-stream, never a clean end
  });

  it("survives clients that send a request and vanish", async () => {
    for (const opts of [{}, { itlMs: 2 }] as SimOptions[]) {
      const server = await sim({ ...opts, outputTokens: 64 });
      const { port } = new URL(server.url);
      const body = JSON.stringify({ prompt: "p", stream: true });
      await Promise.all(
        Array.from(
          { length: 50 },
          (_, i) =>
            new Promise<void>((resolve) => {
              const sock = connect(Number(port), "127.0.0.1", () => {
                sock.write(
                  `POST /v1/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
                );
                if (i % 2) sock.destroy();
                else sock.once("data", () => sock.destroy());
              });
              sock.on("error", () => {});
              sock.on("close", () => resolve());
            }),
        ),
      );
      const res = await post(server, "/v1/completions", { prompt: "p", stream: true });
      expect(parseSse(await res.text()).events).toHaveLength(64);
      const deadline = Date.now() + 5000;
      while (server.running > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(server.running).toBe(0);
    }
  });
});

describe("main.ts (child process)", () => {
  let child: ChildProcess | undefined;
  let stdout = "";
  let url = "";
  beforeAll(async () => {
    child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "src/runtimes/sim/main.ts",
        "--output-tokens",
        "3",
        "--ttft-ms",
        "5",
        "--model",
        "m",
      ],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    child.stdout!.setEncoding("utf8");
    url = await new Promise<string>((resolve, reject) => {
      child!.stdout!.on("data", (d: string) => {
        stdout += d;
        const nl = stdout.indexOf("\n");
        if (nl >= 0) resolve((JSON.parse(stdout.slice(0, nl)) as { url: string }).url);
      });
      child!.once("exit", (code) => reject(new Error(`exited early with ${code}`)));
    });
  });
  afterAll(() => {
    if (child && child.exitCode === null) child.kill("SIGKILL");
  });

  it("prints its URL, serves, records ground truth and exits 0 on SIGTERM", async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "child-1" },
      body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "hi" }], stream: true }),
    });
    expect(parseSse(await res.text()).events).toHaveLength(3);
    const truth = (await (await fetch(`${url}/sim/ground-truth`)).json()) as {
      id: string;
      tokenMs: number[];
    }[];
    expect(truth.map((t) => [t.id, t.tokenMs.length])).toEqual([["child-1", 3]]);
    const exited = new Promise<number | null>((resolve) => child!.once("exit", (code) => resolve(code)));
    child!.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(stdout.trim().split("\n")).toHaveLength(1);
  });

  it.each([
    [["--itl-ms", "-1"], "--itl-ms"],
    [["--output-tokens", "1.5"], "--output-tokens"],
    [["--port", "70000"], "--port"],
    [["--tokens-per-chunk", "x"], "--tokens-per-chunk"],
    [["--bogus"], "--bogus"],
  ])("exits 2 on a bad flag %j", async (args, flag) => {
    const bad = spawn(process.execPath, ["--import", "tsx", "src/runtimes/sim/main.ts", ...args], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    bad.stderr!.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    const code = await new Promise<number | null>((resolve) => bad.once("exit", (c) => resolve(c)));
    expect(code).toBe(2);
    expect(stderr).toContain(flag);
  });
});
