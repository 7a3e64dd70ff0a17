/**
 * Bad input never crashes the worker and changes nothing: each gets an OpenAI-style error that
 * names the field, with the fitting status.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningWorker } from "../../src/worker/server.js";
import { postJson, startTestWorker } from "../helpers/worker.js";

let worker: RunningWorker;
beforeAll(async () => {
  worker = await startTestWorker({ parallel: 2, contextLength: 256 });
});
afterAll(async () => {
  await worker?.close();
});

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

const ok = { prompt: "Hello there", max_tokens: 4 };
const chatOk = { messages: [{ role: "user", content: "Hi" }], max_tokens: 4 };
const longPrompt = "word ".repeat(400);

const cases: [string, string, unknown, number, string | null][] = [
  ["wrong type for max_tokens", "/v1/completions", { ...ok, max_tokens: "16" }, 400, "max_tokens"],
  ["max_tokens of zero", "/v1/completions", { ...ok, max_tokens: 0 }, 400, "max_tokens"],
  ["negative max_tokens", "/v1/completions", { ...ok, max_tokens: -3 }, 400, "max_tokens"],
  ["fractional max_tokens", "/v1/completions", { ...ok, max_tokens: 2.5 }, 400, "max_tokens"],
  ["max_tokens past the context", "/v1/completions", { ...ok, max_tokens: 100000 }, 400, "max_tokens"],
  ["a prompt longer than the context", "/v1/completions", { ...ok, prompt: longPrompt }, 400, "prompt"],
  ["missing prompt", "/v1/completions", { max_tokens: 4 }, 400, "prompt"],
  ["prompt of the wrong type", "/v1/completions", { ...ok, prompt: 42 }, 400, "prompt"],
  ["an empty prompt", "/v1/completions", { ...ok, prompt: "" }, 400, "prompt"],
  [
    "a token id past the vocabulary",
    "/v1/completions",
    { ...ok, prompt: [1, 2, 99999999] },
    400,
    "prompt[2]",
  ],
  ["temperature above 2", "/v1/completions", { ...ok, temperature: 5 }, 400, "temperature"],
  ["negative temperature", "/v1/completions", { ...ok, temperature: -0.1 }, 400, "temperature"],
  ["top_p of zero", "/v1/completions", { ...ok, top_p: 0 }, 400, "top_p"],
  ["top_p above 1", "/v1/completions", { ...ok, top_p: 1.5 }, 400, "top_p"],
  ["a negative seed", "/v1/completions", { ...ok, seed: -1 }, 400, "seed"],
  ["stop of the wrong type", "/v1/completions", { ...ok, stop: 7 }, 400, "stop"],
  ["ignore_eos of the wrong type", "/v1/completions", { ...ok, ignore_eos: "yes" }, 400, "ignore_eos"],
  ["an unknown field", "/v1/completions", { ...ok, temprature: 1 }, 400, "temprature"],
  ["n above 1", "/v1/completions", { ...ok, n: 2 }, 400, "n"],
  ["unknown model", "/v1/completions", { ...ok, model: "gpt-9" }, 404, "model"],
  ["missing messages", "/v1/chat/completions", { max_tokens: 4 }, 400, "messages"],
  ["empty messages", "/v1/chat/completions", { ...chatOk, messages: [] }, 400, "messages"],
  [
    "a message without content",
    "/v1/chat/completions",
    { ...chatOk, messages: [{ role: "user" }] },
    400,
    "messages[0].content",
  ],
  [
    "an unknown role",
    "/v1/chat/completions",
    { ...chatOk, messages: [{ role: "robot", content: "x" }] },
    400,
    "messages[0].role",
  ],
  [
    "chat max_tokens past the context",
    "/v1/chat/completions",
    { ...chatOk, max_tokens: 100000 },
    400,
    "max_tokens",
  ],
  [
    "chat prompt longer than the context",
    "/v1/chat/completions",
    { ...chatOk, messages: [{ role: "user", content: longPrompt }] },
    400,
    "messages",
  ],
  ["tokenize without prompt or messages", "/tokenize", {}, 400, null],
];

async function generatedTokens(): Promise<number> {
  const text = await (await fetch(`${worker.url}/metrics`)).text();
  const m = text.match(/^tokenforge:generation_tokens_total\{[^}]*\} (\d+)/m);
  return m ? Number(m[1]) : 0;
}

describe("bad input", () => {
  it.each(cases)("%s → %s %i naming %s", async (_name, path, body, status, field) => {
    const before = await generatedTokens();
    const res = await postJson(`${worker.url}${path}`, body);
    expect(res.status).toBe(status);
    const err = (await res.json()) as ErrorBody;
    expect(typeof err.error.message).toBe("string");
    expect(err.error.message.length).toBeGreaterThan(0);
    if (field !== null) {
      expect(err.error.param).toBe(field);
      expect(err.error.message).toContain(field.split(/[.[]/)[0]);
    }
    expect(await generatedTokens()).toBe(before);
  });

  it("answers malformed JSON with 400 naming the body", async () => {
    const res = await fetch(`${worker.url}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"prompt": "x", ',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorBody).error.param).toBe("body");
  });

  it("answers an oversized body with 413", async () => {
    const res = await postJson(`${worker.url}/v1/completions`, {
      ...ok,
      prompt: "x".repeat(9 * 1024 * 1024),
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as ErrorBody).error.type).toBe("invalid_request_error");
  });

  it("answers an unknown route with 404 in the OpenAI shape", async () => {
    const res = await fetch(`${worker.url}/v1/embeddings`, { method: "POST" });
    expect(res.status).toBe(404);
    expect(((await res.json()) as ErrorBody).error.type).toBe("not_found_error");
  });

  it("still serves after all of it, with nothing left running", async () => {
    const res = await postJson(`${worker.url}/v1/completions`, { ...ok, ignore_eos: true });
    expect(res.status).toBe(200);
    const health = (await (await fetch(`${worker.url}/health`)).json()) as {
      running: number;
      waiting: number;
    };
    expect(health).toMatchObject({ running: 0, waiting: 0 });
  });
});

describe("bounded input", () => {
  const raw = (path: string, body: string) =>
    fetch(`${worker.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body });
  const deep = (n: number) => `${"[".repeat(n)}${"]".repeat(n)}`;

  it.each([
    ["/v1/completions", `{"prompt":${deep(5000)},"max_tokens":4}`],
    ["/v1/chat/completions", `{"messages":[{"role":"user","content":${deep(5000)}}]}`],
    ["/tokenize", `${'{"a":'.repeat(5000)}1${"}".repeat(5000)}`],
  ])("JSON nested 5,000 deep on %s is a 400 naming the body", async (path, body) => {
    const before = await generatedTokens();
    const res = await raw(path, body);
    expect(res.status).toBe(400);
    const err = ((await res.json()) as ErrorBody).error;
    expect(err).toMatchObject({ type: "invalid_request_error", param: "body" });
    expect(err.message).toMatch(/nested deeper than 64 levels/);
    expect(await generatedTokens()).toBe(before);
  });

  it("a 1 MB unknown key is refused with a message of bounded size", async () => {
    const res = await postJson(`${worker.url}/v1/completions`, { ...ok, ["k".repeat(1_000_000)]: 1 });
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text.length).toBeLessThan(20_000);
    expect((JSON.parse(text) as ErrorBody).error.message).toMatch(/is not a supported field/);
  });

  it.each([
    ["model", { ...ok, model: "m".repeat(3000) }],
    ["stop", { ...ok, stop: "s".repeat(5000) }],
    ["user", { ...ok, user: "u".repeat(5000) }],
    ["messages[0].name", { ...chatOk, messages: [{ role: "user", content: "hi", name: "n".repeat(5000) }] }],
  ])("a %s past its bound is a 400 naming it", async (field, body) => {
    const path = "messages" in body ? "/v1/chat/completions" : "/v1/completions";
    const res = await postJson(`${worker.url}${path}`, body);
    expect(res.status).toBe(400);
    const err = ((await res.json()) as ErrorBody).error;
    expect(err.param).toBe(field);
    expect(err.message).toMatch(/must NOT have more than \d+ characters/);
  });
});
