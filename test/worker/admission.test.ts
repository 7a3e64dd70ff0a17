/**
 * The worker's limits on a real engine (llama.cpp, synthetic:tiny): a bounded queue that refuses
 * with 429 and Retry-After before the body is read or anything is tokenized, a queue-time budget,
 * the default max_tokens of chat, and the prompt-size cap (413 before tokenizing), each refusal
 * counted in /metrics by reason. The engine is wrapped only to count its tokenize calls.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveModel } from "../../src/models/resolve.js";
import { llamaCppRuntime } from "../../src/runtimes/llamacpp/index.js";
import type { Engine } from "../../src/spec/engine.js";
import type { RuntimeDefinition } from "../../src/spec/runtime.js";
import { Admission } from "../../src/worker/admission.js";
import type { WorkerLimits } from "../../src/worker/limits.js";
import { type RunningWorker, startWorker } from "../../src/worker/server.js";
import { waitFor } from "../helpers/wait-for.js";
import { postJson, TEST_CACHE_DIR } from "../helpers/worker.js";

interface Counted {
  worker: RunningWorker;
  /** How many times the engine has tokenized anything. */
  tokenizeCalls(): number;
}

/** The llama.cpp runtime with its engine's tokenize counted (everything else is the engine's). */
function countingRuntime(counter: { n: number }): RuntimeDefinition {
  const base = llamaCppRuntime({ command: process.execPath, args: [] });
  return {
    ...base,
    createEngine: async (options) => {
      const engine = await base.createEngine!(options);
      return new Proxy(engine, {
        get(target, prop) {
          if (prop === "tokenize") {
            return (prompt: Parameters<Engine["tokenize"]>[0]) => {
              counter.n++;
              return target.tokenize(prompt);
            };
          }
          const value = Reflect.get(target, prop, target);
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
    },
  };
}

async function startCounted(parallel: number, contextLength: number, limits: WorkerLimits): Promise<Counted> {
  const counter = { n: 0 };
  const worker = await startWorker({
    runtime: countingRuntime(counter),
    resolveModel: () => resolveModel("synthetic:tiny", { cacheDir: TEST_CACHE_DIR }),
    engine: { parallel, contextLength, threads: 1, batchSize: undefined, gpu: false },
    host: "127.0.0.1",
    port: 0,
    limits,
  });
  await worker.loaded;
  if (worker.holder.state.status !== "ready") {
    await worker.close();
    throw new Error(`worker failed to load: ${JSON.stringify(worker.holder.state)}`);
  }
  return { worker, tokenizeCalls: () => counter.n };
}

async function health(url: string) {
  return (await (await fetch(`${url}/health`)).json()) as {
    running: number;
    waiting: number;
    limits: Record<string, unknown>;
  };
}

async function refusals(url: string, reason: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = text.match(
    new RegExp(`^tokenforge:requests_refused_total\\{[^}]*reason="${reason}"[^}]*\\} (\\d+)`, "m"),
  );
  return m ? Number(m[1]) : 0;
}

/** A streamed request that holds a sequence until aborted (or until its many tokens are out). */
async function holdStream(url: string, maxTokens: number) {
  const abort = new AbortController();
  const res = await fetch(`${url}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ prompt: "A long story:", max_tokens: maxTokens, ignore_eos: true, stream: true }),
    signal: abort.signal,
  });
  return { res, abort };
}

async function errorOf(res: Response) {
  return (
    (await res.json()) as { error: { type: string; code: string; param: string | null; message: string } }
  ).error;
}

describe("admission: one sequence and one waiting place", () => {
  let w: Counted;
  beforeAll(async () => {
    w = await startCounted(1, 2048, { maxWaiting: 1 });
  });
  afterAll(async () => {
    await w?.worker.close();
  });

  it("refuses past the queue with 429 and Retry-After before reading the body, and serves the admitted", async () => {
    const url = w.worker.url;
    const running = await holdStream(url, 2000);
    const reader = running.res.body!.getReader();
    await reader.read(); // the first chunk: it holds the only sequence
    const queuedReply = postJson(`${url}/v1/completions`, {
      prompt: "Next",
      max_tokens: 8,
      ignore_eos: true,
    });
    await waitFor(async () => (await health(url)).waiting === 1, { what: "the second request to wait" });
    const tokenizedBefore = w.tokenizeCalls();

    // A 7.5 MB prompt: refused without being tokenized.
    const huge = await postJson(`${url}/v1/completions`, {
      prompt: "word ".repeat(1_500_000),
      max_tokens: 4,
    });
    expect(huge.status).toBe(429);
    expect(huge.headers.get("retry-after")).toMatch(/^[1-9]\d*$/);
    const err = await errorOf(huge);
    expect(err).toMatchObject({ type: "rate_limit_error", code: "over_capacity" });
    expect(err.message).toMatch(/--max-waiting/);
    // A body that is not even JSON gets the same 429: it was never read.
    const broken = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    expect(broken.status).toBe(429);
    expect(broken.headers.get("retry-after")).toMatch(/^[1-9]\d*$/);
    expect(w.tokenizeCalls()).toBe(tokenizedBefore);
    expect(await refusals(url, "queue_full")).toBe(2);

    // The running request lets go; the waiting one runs to its exact length.
    running.abort.abort();
    const queued = await queuedReply;
    expect(queued.status).toBe(200);
    const body = (await queued.json()) as { usage: { completion_tokens: number } };
    expect(body.usage.completion_tokens).toBe(8);
    // With room again, the next request is admitted.
    const after = await postJson(`${url}/v1/completions`, {
      prompt: "Again",
      max_tokens: 3,
      ignore_eos: true,
    });
    expect(after.status).toBe(200);
    const h = await health(url);
    expect(h).toMatchObject({ running: 0, waiting: 0 });
    expect(h.limits).toMatchObject({ max_num_seqs: 1, max_waiting: 1, max_queue_ms: null });
  });
});

describe("admission: a queue-time budget", () => {
  let w: Counted;
  beforeAll(async () => {
    w = await startCounted(1, 2048, { maxWaiting: 4, maxQueueMs: 300 });
  });
  afterAll(async () => {
    await w?.worker.close();
  });

  it("takes a request that waited past the budget out of the queue with 429", async () => {
    const url = w.worker.url;
    const running = await holdStream(url, 2000);
    const reader = running.res.body!.getReader();
    await reader.read();
    // No request has finished yet, so there is no estimate: this one is admitted and waits.
    const waited = await postJson(`${url}/v1/completions`, {
      prompt: "Next",
      max_tokens: 4,
      stream: true,
    });
    expect(waited.status).toBe(429);
    expect(waited.headers.get("retry-after")).toBe("1");
    expect(waited.headers.get("content-type")).toMatch(/application\/json/);
    const err = await errorOf(waited);
    expect(err.code).toBe("over_capacity");
    expect(err.message).toMatch(/--max-queue-ms/);
    expect((await health(url)).waiting).toBe(0);
    expect(await refusals(url, "queue_timeout")).toBe(1);
    running.abort.abort();
    await waitFor(async () => (await health(url)).running === 0, { what: "the sequence to be free" });
    const next = await postJson(`${url}/v1/completions`, { prompt: "Next", max_tokens: 4, ignore_eos: true });
    expect(next.status).toBe(200);
  });
});

describe("default max_tokens and the prompt-size cap", () => {
  let w: Counted;
  let clamped: Counted;
  beforeAll(async () => {
    w = await startCounted(2, 512, { defaultMaxTokens: 6, maxPromptBytes: 1000 });
    clamped = await startCounted(1, 256, {});
  });
  afterAll(async () => {
    await w?.worker.close();
    await clamped?.worker.close();
  });

  const chat = (content: string, extra: Record<string, unknown> = {}) => ({
    messages: [{ role: "user", content }],
    ignore_eos: true,
    ...extra,
  });

  it("gives a chat request without max_tokens the configured default; completions keep 16", async () => {
    const url = w.worker.url;
    const res = await postJson(`${url}/v1/chat/completions`, chat("Tell me everything."));
    const body = (await res.json()) as {
      usage: { completion_tokens: number };
      choices: { finish_reason: string }[];
    };
    expect(body.usage.completion_tokens).toBe(6);
    expect(body.choices[0]?.finish_reason).toBe("length");
    const explicit = await postJson(`${url}/v1/chat/completions`, chat("Hi", { max_tokens: 9 }));
    expect(
      ((await explicit.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens,
    ).toBe(9);
    const completion = await postJson(`${url}/v1/completions`, { prompt: "Once", ignore_eos: true });
    expect(
      ((await completion.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens,
    ).toBe(16);
    expect((await health(url)).limits).toMatchObject({ default_max_tokens: { chat: 6, completions: 16 } });
  });

  it("cuts the default (1024) to what is left of a smaller context, never refusing for it", async () => {
    const url = clamped.worker.url;
    expect((await health(url)).limits).toMatchObject({
      default_max_tokens: { chat: 1024, completions: 16 },
      max_waiting: 2,
      max_prompt_bytes: 1024 * 1024,
    });
    const res = await postJson(`${url}/v1/chat/completions`, chat("Hello there"));
    expect(res.status).toBe(200);
    const usage = ((await res.json()) as { usage: { prompt_tokens: number; completion_tokens: number } })
      .usage;
    expect(usage.prompt_tokens + usage.completion_tokens).toBe(256);
  });

  it("refuses a prompt past --max-prompt-bytes with 413 before tokenizing, counting UTF-8 bytes", async () => {
    const url = w.worker.url;
    const before = w.tokenizeCalls();
    const refusedBefore = await refusals(url, "prompt_too_large");
    // 501 characters, 1,002 bytes.
    const over = await postJson(`${url}/v1/completions`, { prompt: "é".repeat(501), max_tokens: 2 });
    expect(over.status).toBe(413);
    expect(await errorOf(over)).toMatchObject({ code: "payload_too_large", param: "prompt" });
    const overChat = await postJson(`${url}/v1/chat/completions`, {
      messages: [
        { role: "system", content: "x".repeat(600) },
        { role: "user", content: "y".repeat(401) },
      ],
      max_tokens: 2,
    });
    expect(overChat.status).toBe(413);
    expect((await errorOf(overChat)).param).toBe("messages");
    const overTokenize = await postJson(`${url}/tokenize`, { prompt: "z".repeat(1001) });
    expect(overTokenize.status).toBe(413);
    expect((await errorOf(overTokenize)).param).toBe("prompt");
    expect(w.tokenizeCalls()).toBe(before);
    expect(await refusals(url, "prompt_too_large")).toBe(refusedBefore + 2);
    // Exactly at the limit is accepted.
    const at = await postJson(`${url}/v1/completions`, { prompt: "é".repeat(500), max_tokens: 2 });
    expect(at.status).toBe(200);
  });
});

describe("Admission", () => {
  it("admits sequences plus waiting places and no more; a release is counted once", () => {
    const a = new Admission(2, undefined);
    const tickets = [1, 2, 3, 4].map(() => a.tryEnter(2));
    expect(tickets.every((t) => t.admitted)).toBe(true);
    const full = a.tryEnter(2);
    expect(full).toMatchObject({ admitted: false, reason: "queue_full", retryAfterS: 1 });
    const first = tickets[0]!;
    if (!first.admitted) throw new Error("unreachable");
    first.ticket.release();
    first.ticket.release();
    expect(a.admitted).toBe(3);
    expect(a.tryEnter(2).admitted).toBe(true);
    expect(a.tryEnter(2).admitted).toBe(false);
  });

  it("refuses at once when the expected wait is past the budget, once it knows how long a request holds", async () => {
    const a = new Admission(10, 20);
    const t = a.tryEnter(1);
    if (!t.admitted) throw new Error("the first request must be admitted");
    // Unknown hold time: the second is admitted (only the queue length bounds it).
    const second = a.tryEnter(1);
    expect(second.admitted).toBe(true);
    if (second.admitted) second.ticket.release(); // never started: teaches nothing
    expect(a.expectedWaitMs(1)).toBeUndefined();
    t.ticket.started();
    await new Promise((r) => setTimeout(r, 60));
    t.ticket.release();
    // One request held its sequence about 60 ms: with one running, the next waits about that long.
    const hold = a.tryEnter(1);
    expect(hold.admitted).toBe(true);
    expect(a.expectedWaitMs(1)).toBeGreaterThanOrEqual(50);
    const refused = a.tryEnter(1);
    expect(refused).toMatchObject({ admitted: false, reason: "queue_time" });
    // A free sequence means no wait at all.
    if (hold.admitted) hold.ticket.release();
    expect(a.expectedWaitMs(1)).toBe(0);
    expect(a.tryEnter(1).admitted).toBe(true);
  });
});
