/**
 * Every broken reply is an error with a reason: the harness's runner against a faulty server
 * (test/helpers/faulty-server.ts) that answers chosen requests with a chunk that is not JSON, a
 * stream cut off or ended without [DONE], an HTTP error, a huge SSE line, an oversized body or a
 * stall; each request's outcome and reason are checked, and the well-answered ones stay ok.
 */
import { afterEach, describe, expect, it } from "vitest";
import { workloadOf } from "../../src/bench/config.js";
import { buildPlan } from "../../src/bench/plan.js";
import { uncalibrated } from "../../src/bench/prompts.js";
import { type RunOptions, runPlan } from "../../src/bench/runner.js";
import type { RequestTrace, Workload } from "../../src/bench/types.js";
import { type Fault, type FaultyServer, startFaultyServer } from "../helpers/faulty-server.js";

const servers: FaultyServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(fault: (n: number) => Fault, itlMs?: number): Promise<FaultyServer> {
  const s = await startFaultyServer({ fault, ...(itlMs === undefined ? {} : { itlMs }) });
  servers.push(s);
  return s;
}

/** Runs `n` requests one at a time (closed loop), returning the traces by index. */
async function run(
  server: FaultyServer,
  n: number,
  extra: Partial<Workload> = {},
  options: Partial<RunOptions> = {},
): Promise<RequestTrace[]> {
  const w = workloadOf({
    name: "faults",
    concurrency: 1,
    numRequests: n,
    promptLen: { kind: "fixed", value: 8 },
    genTokens: { kind: "fixed", value: 6 },
    ...extra,
  });
  const traces: RequestTrace[] = [];
  await runPlan({
    target: { baseUrl: server.url, model: "faulty", endpoint: w.endpoint, stream: w.stream },
    plan: buildPlan(w, "faulty", uncalibrated()),
    onTrace: (t) => traces.push(t),
    ...options,
  });
  return traces.sort((a, b) => a.index - b.index);
}

const outcomes = (traces: RequestTrace[]) => traces.map((t) => [t.outcome, t.error]);

describe("broken replies end their request as an error with a one-line reason", () => {
  it("a chunk that is not JSON, in completions and chat streams", async () => {
    for (const endpoint of ["completions", "chat"] as const) {
      const s = await serve((n) => (n === 2 ? { kind: "invalid-json", atChunk: 3 } : { kind: "ok" }));
      const traces = await run(s, 3, { endpoint });
      expect(
        traces.map((t) => t.outcome),
        endpoint,
      ).toEqual(["ok", "error", "ok"]);
      expect(traces[1]!.error).toMatch(/^invalid JSON in chunk 3: \S/);
      expect(traces[1]!.error).not.toMatch(/\n/);
      // The chunks before the broken one were timed where they arrived.
      expect(traces[1]!.chunkMs).toHaveLength(2);
      expect(traces[0]!.chunkMs).toHaveLength(6);
      expect(traces[0]!.usage).toEqual({ promptTokens: 8, completionTokens: 6 });
    }
  });

  it("a connection closed mid-stream, and a stream ended without [DONE]", async () => {
    const s = await serve((n) =>
      n === 1
        ? { kind: "cut", afterChunks: 2 }
        : n === 2
          ? { kind: "no-done", afterChunks: 2 }
          : { kind: "ok" },
    );
    const traces = await run(s, 3);
    expect(outcomes(traces)).toEqual([
      ["error", expect.stringMatching(/^connection lost mid-reply \(.+\)$/)],
      ["error", "stream ended before data: [DONE]"],
      ["ok", undefined],
    ]);
    expect(traces[0]!.status).toBe(200);
  });

  it("an HTTP error, with the server's message, for requests after the n-th", async () => {
    const s = await serve((n) =>
      n > 2 ? { kind: "status", status: 500, message: "engine died" } : { kind: "ok" },
    );
    const traces = await run(s, 4);
    expect(outcomes(traces)).toEqual([
      ["ok", undefined],
      ["ok", undefined],
      ["error", "HTTP 500: engine died"],
      ["error", "HTTP 500: engine died"],
    ]);
    expect(traces[3]!.status).toBe(500);
  });

  it("an SSE line over the limit, and a long line under it read whole", async () => {
    const s = await serve((n) =>
      n === 1
        ? { kind: "huge-line", bytes: 3 * 1024 * 1024, pieceBytes: 4096 }
        : n === 2
          ? { kind: "huge-line", bytes: 12 * 1024 * 1024, pieceBytes: 64 * 1024 }
          : { kind: "ok" },
    );
    const traces = await run(s, 3);
    expect(outcomes(traces)).toEqual([
      ["ok", undefined],
      ["error", "SSE line over 8 MiB"],
      ["ok", undefined],
    ]);
    expect(traces[0]!.chunkMs).toHaveLength(6);
  });

  it("a non-streamed body over the limit; a small one is fine", async () => {
    const s = await serve((n) => (n === 2 ? { kind: "big-body", bytes: 3 * 1024 * 1024 } : { kind: "ok" }));
    const traces = await run(s, 3, { stream: false }, { maxReplyBytes: 1024 * 1024 });
    expect(outcomes(traces)).toEqual([
      ["ok", undefined],
      ["error", "reply body over 1 MiB"],
      ["ok", undefined],
    ]);
    expect(traces[0]!.usage).toEqual({ promptTokens: 8, completionTokens: 6 });
  });

  it("a stall mid-stream, and a reply that never starts, after the stall timeout", async () => {
    const s = await serve((n) =>
      n === 1
        ? { kind: "stall", afterChunks: 2 }
        : n === 2
          ? { kind: "stall", afterChunks: 0 }
          : { kind: "ok" },
    );
    const traces = await run(s, 3, {}, { stallTimeoutMs: 300 });
    expect(outcomes(traces)).toEqual([
      ["error", "stalled: no byte for 0.3 s mid-reply (stall timeout)"],
      ["error", "stalled: no reply within 0.3 s, and the server sent nothing meanwhile (stall timeout)"],
      ["ok", undefined],
    ]);
    // The stall ended the request no sooner than the timeout after its last byte.
    const first = traces[0]!;
    expect(first.endMs! - first.chunkMs[1]!).toBeGreaterThanOrEqual(300);
    expect(first.chunkMs).toHaveLength(2);
  });

  it("a request held back while the server streams to others is queued, not stalled", async () => {
    // Request 1 waits 1 s for its first byte, over the 0.3 s stall timeout, while requests 2-4
    // stream a chunk every 50 ms: the target is busy, so request 1 is not failed. Alone, the same
    // wait fails it.
    const s = await serve((n) => (n === 1 ? { kind: "delay", ms: 1000 } : { kind: "ok" }), 50);
    const busy = await run(
      s,
      4,
      { concurrency: 4, genTokens: { kind: "fixed", value: 30 } },
      { stallTimeoutMs: 300 },
    );
    expect(outcomes(busy)).toEqual(new Array(4).fill(["ok", undefined]));
    const alone = await serve((n) => (n === 1 ? { kind: "delay", ms: 1000 } : { kind: "ok" }));
    const traces = await run(alone, 1, {}, { stallTimeoutMs: 300 });
    expect(traces[0]!.outcome).toBe("error");
    expect(traces[0]!.error).toMatch(/^stalled: no reply within 0.3 s/);
  });
});
