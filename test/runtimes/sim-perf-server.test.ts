/**
 * The simulated server timed by a performance model, over real HTTP: token gaps follow the model's
 * step times, a full batch queues (visible in /metrics), a request the KV cache can never hold is
 * refused naming the field, a client that leaves frees its sequence, and options that contradict
 * the model are refused.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { PerfModel } from "../../src/runtimes/sim/perf-model.js";
import { type SimServer, startSimServer } from "../../src/runtimes/sim/server.js";

/** Steps of 8 ms + 2 ms per sequence: long enough for timer noise to stay small beside them. */
const MODEL: PerfModel = {
  prefillTokensPerS: 10_000,
  prefillOverheadMs: 5,
  decode: { kind: "linear", baseMs: 8, perSeqMs: 2 },
  maxBatch: 2,
  kvCacheTokens: 1000,
  jitter: 0,
};

const servers: SimServer[] = [];
async function sim(perf: PerfModel = MODEL): Promise<SimServer> {
  const s = await startSimServer({ perf });
  servers.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function completion(server: SimServer, body: Record<string, unknown>, signal?: AbortSignal) {
  return fetch(`${server.url}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "sim", prompt: "a b c d e f g h i j", stream: true, ...body }),
    ...(signal ? { signal } : {}),
  });
}

async function gauge(server: SimServer, name: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`no ${name} in /metrics`);
  return Number(line.split(" ")[1]);
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

describe("sim server with a performance model", () => {
  it("writes tokens at the model's step times", async () => {
    const server = await sim();
    const res = await completion(server, { max_tokens: 20 });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text.endsWith("data: [DONE]\n\n")).toBe(true);
    const gt = server.groundTruth()[0]!;
    expect(gt.completionTokens).toBe(20);
    expect(gt.tokenMs).toHaveLength(20);
    // Prefill: 5 ms + 10 tokens at 10,000/s = 6 ms; decode at batch 1: 10 ms. Never early; late
    // only by the timers' lateness.
    const ttft = gt.firstTokenMs! - gt.receivedMs;
    expect(ttft).toBeGreaterThanOrEqual(6 - 0.5);
    expect(ttft).toBeLessThan(6 + 15);
    const gaps = gt.tokenMs.slice(1).map((t, i) => t - gt.tokenMs[i]!);
    for (const g of gaps) expect(g).toBeGreaterThanOrEqual(10 - 0.5);
    expect(median(gaps)).toBeLessThan(10 + 3);
  });

  it("decodes concurrent requests as one batch, with slower steps", async () => {
    const server = await sim();
    await Promise.all([1, 2].map(async () => (await completion(server, { max_tokens: 20 })).text()));
    const [a, b] = server.groundTruth();
    // Both in the batch: steps of 8 + 2 × 2 = 12 ms.
    const gaps = [a!, b!].flatMap((gt) => gt.tokenMs.slice(2).map((t, i) => t - gt.tokenMs[i + 1]!));
    expect(median(gaps)).toBeGreaterThanOrEqual(12 - 0.5);
    expect(median(gaps)).toBeLessThan(12 + 3);
  });

  it("queues past the batch limit: the third request starts when a sequence finishes", async () => {
    const server = await sim();
    const streams = [0, 1, 2].map(async (i) => {
      // The third arrives after the first two are in the batch.
      if (i === 2) await new Promise((r) => setTimeout(r, 30));
      return (await completion(server, { max_tokens: 10 })).text();
    });
    await new Promise((r) => setTimeout(r, 60));
    expect(await gauge(server, "tokenforge:num_requests_waiting")).toBe(1);
    expect(await gauge(server, "tokenforge:num_requests_running")).toBe(2);
    expect(await gauge(server, "tokenforge:kv_cache_usage_perc")).toBeCloseTo((2 * 20) / 1000, 9);
    await Promise.all(streams);
    const records = server.groundTruth();
    const third = records.reduce((x, y) => (x.receivedMs > y.receivedMs ? x : y));
    const firstEnd = Math.min(...records.filter((r) => r !== third).map((r) => r.endMs));
    expect(third.firstTokenMs!).toBeGreaterThanOrEqual(firstEnd);
    expect(await gauge(server, "tokenforge:num_requests_waiting")).toBe(0);
    expect(await gauge(server, "tokenforge:kv_cache_usage_perc")).toBe(0);
  });

  it("answers a whole reply after its last token", async () => {
    const server = await sim();
    const res = await completion(server, { max_tokens: 5, stream: false });
    const body = (await res.json()) as { usage: { completion_tokens: number } };
    expect(body.usage.completion_tokens).toBe(5);
    const gt = server.groundTruth()[0]!;
    // 6 ms prefill + 4 decode steps of 10 ms.
    expect(gt.endMs - gt.receivedMs).toBeGreaterThanOrEqual(46 - 0.5);
  });

  it("refuses a request the KV cache can never hold, naming max_tokens", async () => {
    const server = await sim();
    const res = await completion(server, { max_tokens: 995 });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { param: string; message: string } };
    expect(body.error.param).toBe("max_tokens");
    expect(body.error.message).toMatch(/simulated KV cache \(1000 tokens\)/);
    expect(await gauge(server, "tokenforge:num_requests_running")).toBe(0);
  });

  it("frees the sequence of a client that leaves, so a queued request runs", async () => {
    const server = await sim({ ...MODEL, maxBatch: 1 });
    const abort = new AbortController();
    const long = await completion(server, { max_tokens: 500 }, abort.signal);
    const reader = long.body!.getReader();
    await reader.read();
    const queued = completion(server, { max_tokens: 3 });
    await new Promise((r) => setTimeout(r, 30));
    expect(await gauge(server, "tokenforge:num_requests_waiting")).toBe(1);
    abort.abort();
    await reader.closed.catch(() => {});
    const text = await (await queued).text();
    expect(text.endsWith("data: [DONE]\n\n")).toBe(true);
    const left = server.groundTruth().find((r) => r.aborted);
    expect(left?.completionTokens).toBeLessThan(500);
    expect(await gauge(server, "tokenforge:num_requests_running")).toBe(0);
  });

  it("refuses options that contradict the model", async () => {
    await expect(startSimServer({ perf: MODEL, itlMs: 5 })).rejects.toThrow(
      /itlMs cannot be combined with perf/,
    );
    await expect(startSimServer({ perf: MODEL, tokensPerChunk: 2 })).rejects.toThrow(/tokensPerChunk/);
  });
});
