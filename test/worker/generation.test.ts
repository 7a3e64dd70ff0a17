/**
 * The worker on a real engine (llama.cpp, synthetic:tiny): exact lengths, usage, streaming
 * shape, seeds, stop strings, batching of concurrent streams (from the engine's own record of its
 * decode steps) and queueing past the sequences.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningWorker } from "../../src/worker/server.js";
import { postJson, readSse, startTestWorker } from "../helpers/worker.js";

interface Chunk {
  choices: { text?: string; delta?: { content?: string; role?: string }; finish_reason: string | null }[];
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

let worker: RunningWorker;
beforeAll(async () => {
  worker = await startTestWorker({ parallel: 8, contextLength: 1024 });
});
afterAll(async () => {
  await worker?.close();
});

const PROMPT = "The quick brown fox jumps over the lazy dog while the band plays on.";

describe("completions", () => {
  it("produces exactly max_tokens with ignore_eos, and usage says so", async () => {
    const res = await postJson(`${worker.url}/v1/completions`, {
      model: "synthetic:tiny",
      prompt: PROMPT,
      max_tokens: 40,
      ignore_eos: true,
      temperature: 0.8,
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Chunk;
    expect(body.usage?.completion_tokens).toBe(40);
    expect(body.choices[0]?.finish_reason).toBe("length");
    const tok = (await (await postJson(`${worker.url}/tokenize`, { prompt: PROMPT })).json()) as {
      count: number;
    };
    expect(body.usage?.prompt_tokens).toBe(tok.count);
    expect(body.usage?.total_tokens).toBe(tok.count + 40);
  });

  it("streams SSE chunks, a usage chunk and [DONE]; the running usage reaches max_tokens", async () => {
    const res = await postJson(`${worker.url}/v1/completions`, {
      prompt: PROMPT,
      max_tokens: 33,
      ignore_eos: true,
      stream: true,
      stream_options: { include_usage: true, continuous_usage_stats: true },
    });
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(res.headers.get("cache-control")).toBe("no-cache");
    const { events, done } = await readSse(res);
    expect(done).toBe(true);
    const chunks = events as Chunk[];
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage?.completion_tokens).toBe(33);
    const content = chunks.slice(0, -1);
    expect(content.at(-1)?.choices[0]?.finish_reason).toBe("length");
    expect(content.slice(0, -1).every((c) => c.choices[0]?.finish_reason === null)).toBe(true);
    // The running count never goes back and ends where usage ends.
    const counts = content.map((c) => c.usage?.completion_tokens ?? -1);
    expect(counts.every((n, i) => n > 0 && (i === 0 || n >= counts[i - 1]!))).toBe(true);
    expect(counts.at(-1)).toBe(33);
    // Every content chunk carries text (no empty chunks before the finish chunk).
    expect(content.slice(0, -1).every((c) => (c.choices[0]?.text ?? "").length > 0)).toBe(true);
  });

  it("gives the same text for the same seed and another for another seed", async () => {
    const ask = async (seed: number) =>
      (
        (await (
          await postJson(`${worker.url}/v1/completions`, {
            prompt: PROMPT,
            max_tokens: 24,
            ignore_eos: true,
            temperature: 1,
            seed,
          })
        ).json()) as Chunk
      ).choices[0]?.text;
    const a = await ask(11);
    expect(await ask(11)).toBe(a);
    expect(await ask(12)).not.toBe(a);
  });

  it("stops at a stop string and does not send it", async () => {
    const base = { prompt: PROMPT, max_tokens: 48, ignore_eos: true, temperature: 1, seed: 5 };
    const full = ((await (await postJson(`${worker.url}/v1/completions`, base)).json()) as Chunk).choices[0]!
      .text!;
    const stop = full.slice(Math.floor(full.length / 2), Math.floor(full.length / 2) + 3);
    const cut = full.indexOf(stop);
    for (const stream of [false, true]) {
      const res = await postJson(`${worker.url}/v1/completions`, { ...base, stop: [stop], stream });
      const text = stream
        ? ((await readSse(res)).events as Chunk[]).map((c) => c.choices[0]?.text ?? "").join("")
        : ((await res.json()) as Chunk).choices[0]!.text!;
      expect(text).toBe(full.slice(0, cut));
    }
  });
});

describe("chat", () => {
  it("streams a role chunk, content deltas, and the finish reason", async () => {
    const res = await postJson(`${worker.url}/v1/chat/completions`, {
      messages: [
        { role: "system", content: "You are terse." },
        { role: "user", content: "Say hello." },
      ],
      max_completion_tokens: 12,
      ignore_eos: true,
      stream: true,
      stream_options: { include_usage: true },
    });
    const { events, done } = await readSse(res);
    expect(done).toBe(true);
    const chunks = events as (Chunk & { object: string })[];
    expect(chunks[0]?.choices[0]?.delta?.role).toBe("assistant");
    expect(chunks.every((c) => c.object === "chat.completion.chunk")).toBe(true);
    expect(chunks.at(-1)?.usage?.completion_tokens).toBe(12);
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe("length");
  });

  it("counts chat prompt tokens the way /tokenize does", async () => {
    const messages = [{ role: "user", content: "How many tokens is this?" }];
    const tok = (await (await postJson(`${worker.url}/tokenize`, { messages })).json()) as { count: number };
    const res = (await (
      await postJson(`${worker.url}/v1/chat/completions`, { messages, max_tokens: 3, ignore_eos: true })
    ).json()) as Chunk;
    expect(res.usage?.prompt_tokens).toBe(tok.count);
    expect(tok.count).toBeGreaterThan(6);
  });
});

describe("concurrency", () => {
  const streamTokens = async (max: number) => {
    const res = await postJson(`${worker.url}/v1/completions`, {
      prompt: PROMPT,
      max_tokens: max,
      ignore_eos: true,
      stream: true,
      stream_options: { include_usage: true },
    });
    const { events } = await readSse(res);
    return (events.at(-1) as Chunk).usage!.completion_tokens;
  };

  /** The engine's decode steps so far, by how many sequences each processed together. */
  const decodeSteps = async (): Promise<Map<number, number>> => {
    const h = (await (await fetch(`${worker.url}/health`)).json()) as {
      decode_steps: Record<string, number>;
    };
    return new Map(Object.entries(h.decode_steps).map(([n, steps]) => [Number(n), steps]));
  };

  it("decodes 8 concurrent streams together: the engine's steps carry most of them at once", async () => {
    await streamTokens(8); // warm
    const before = await decodeSteps();
    const counts = await Promise.all(Array.from({ length: 8 }, () => streamTokens(96)));
    const after = await decodeSteps();
    expect(counts).toEqual(Array(8).fill(96));

    const steps = [...after].map(([n, c]) => [n, c - (before.get(n) ?? 0)] as const);
    const total = steps.reduce((a, [, c]) => a + c, 0);
    const sequenceSteps = steps.reduce((a, [n, c]) => a + n * c, 0);
    // Each stream is its prompt's step and one step per token after the first; a prompt split
    // over two steps is the only way to have more.
    expect(sequenceSteps).toBeGreaterThanOrEqual(8 * 96);
    expect(sequenceSteps).toBeLessThanOrEqual(8 * 96 + 8);
    // One stream at a time would take 768 steps; here a step decodes more than half of them.
    expect(sequenceSteps / total, JSON.stringify(steps)).toBeGreaterThan(4);
  });

  it("queues requests beyond the 8 sequences and serves every one of them", async () => {
    // 24 at once: each finished request hands its sequence to a waiting one, which must not find
    // the sequence id still on its way back to the context.
    const counts = await Promise.all(Array.from({ length: 24 }, () => streamTokens(4)));
    expect(counts).toEqual(Array(24).fill(4));
  });
});
