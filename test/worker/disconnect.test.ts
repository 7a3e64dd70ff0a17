/** A client that leaves mid-stream frees its sequence for the next request. */
import { afterAll, beforeAll, expect, it } from "vitest";
import type { RunningWorker } from "../../src/worker/server.js";
import { waitFor } from "../helpers/wait-for.js";
import { postJson, startTestWorker } from "../helpers/worker.js";

let worker: RunningWorker;
beforeAll(async () => {
  worker = await startTestWorker({ parallel: 1, contextLength: 2048 });
});
afterAll(async () => {
  await worker?.close();
});

async function health(): Promise<{ running: number; waiting: number; kv_cache_usage: number }> {
  return (await (await fetch(`${worker.url}/health`)).json()) as never;
}

it("aborts the generation of a client that disconnects and serves the next request", async () => {
  const abort = new AbortController();
  const res = await fetch(`${worker.url}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ prompt: "A long story:", max_tokens: 2000, ignore_eos: true, stream: true }),
    signal: abort.signal,
  });
  const reader = res.body!.getReader();
  await reader.read(); // the first chunk arrived: the request holds the only sequence
  expect((await health()).running).toBe(1);
  expect((await health()).kv_cache_usage).toBeGreaterThan(0);
  abort.abort();

  // With one sequence, this request can only run once the abandoned one let go of it.
  const t0 = performance.now();
  const next = await postJson(`${worker.url}/v1/completions`, {
    prompt: "Next",
    max_tokens: 5,
    ignore_eos: true,
  });
  expect(next.status).toBe(200);
  expect(((await next.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens).toBe(5);
  expect(performance.now() - t0).toBeLessThan(20_000);
  const h = await health();
  expect(h.running).toBe(0);
  expect(h.waiting).toBe(0);
  expect(h.kv_cache_usage).toBe(0);

  // The aborted request is counted as such.
  const metrics = await (await fetch(`${worker.url}/metrics`)).text();
  expect(metrics).toMatch(/tokenforge:request_success_total\{[^}]*finished_reason="abort"[^}]*\} 1/);
});

it("drops a request that is still queued when its client leaves", async () => {
  let firstDone = false;
  const first = postJson(`${worker.url}/v1/completions`, {
    prompt: "Busy",
    max_tokens: 200,
    ignore_eos: true,
  }).finally(() => {
    firstDone = true;
  });
  await waitFor(async () => (await health()).running === 1, {
    what: "the first request to hold the sequence",
  });
  const abort = new AbortController();
  const queued = fetch(`${worker.url}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ prompt: "Queued", max_tokens: 200, ignore_eos: true }),
    signal: abort.signal,
  }).catch((e: unknown) => e);
  await waitFor(async () => (await health()).waiting === 1, { what: "the second request to be queued" });
  abort.abort();
  await queued;
  await waitFor(async () => (await health()).waiting === 0, {
    what: "the abandoned request to leave the queue",
  });
  // It left the queue while the first request still held the only sequence: dropped, not served.
  expect(firstDone).toBe(false);
  expect((await health()).running).toBe(1);
  expect((await first).status).toBe(200);
});
