/**
 * Multi-turn sessions: the plan's prompts by hand (each turn is the whole history plus a new
 * user message, and starts with the previous turn's prompt exactly), then sessions run against
 * the simulated server, open loop and as a fixed number of users, with per-turn and per-session
 * figures.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { workloadOf } from "../../src/bench/config.js";
import { uncalibrated } from "../../src/bench/prompts.js";
import { runBenchmark } from "../../src/bench/run.js";
import { buildSessionPlan, TURN_STRIDE } from "../../src/bench/sessions.js";
import { readTraces } from "../../src/bench/trace-io.js";
import type { Workload } from "../../src/bench/types.js";
import { RuntimeRegistry } from "../../src/runtimes/registry.js";
import { type SimChild, startSimChild } from "../helpers/sim.js";

const fixed = (value: number) => ({ kind: "fixed", value }) as const;

function sessionWorkload(over: Partial<Workload> = {}): Workload {
  return workloadOf({
    name: "chat",
    promptLen: fixed(5),
    genTokens: fixed(3),
    qps: 20,
    arrival: { kind: "constant" },
    sessions: { turns: fixed(3), systemPrompt: 10, count: 4, thinkMs: fixed(50) },
    seed: 9,
    ...over,
  });
}

const promptOf = (body: string): string => JSON.parse(body).prompt as string;
const words = (text: string) => text.split(" ").filter((w) => w.length > 0).length;

describe("session plan", () => {
  it("builds each turn from the whole history, with hand-computed lengths", () => {
    const plan = buildSessionPlan(sessionWorkload(), "m", uncalibrated());
    expect(plan.count).toBe(4);
    expect([...plan.startsMs!]).toEqual([0, 50, 100, 150]);
    // system 10 + k × (user 5 + reply 3) + user 5: 15, 23, 31.
    const turns = [0, 1, 2].map((k) => plan.request(1, k));
    expect(turns.map((t) => t.promptTokens)).toEqual([15, 23, 31]);
    expect(turns.map((t) => t.maxTokens)).toEqual([3, 3, 3]);
    const prompts = turns.map((t) => promptOf(t.body));
    expect(prompts.map(words)).toEqual([15, 23, 31]);
    // Turn k + 1 starts with turn k's prompt exactly, then the planned reply and a new message.
    expect(prompts[1]!.startsWith(prompts[0]!)).toBe(true);
    expect(prompts[2]!.startsWith(prompts[1]!)).toBe(true);
    // Sessions share the system prompt and nothing after it.
    const other = promptOf(plan.request(2, 0).body);
    const sys = prompts[0]!.split(" ").slice(0, 11).join(" ");
    expect(other.startsWith(sys)).toBe(true);
    expect(other.split(" ")[11]).not.toBe(prompts[0]!.split(" ")[11]);
    expect(plan.turns(0)).toBe(3);
    expect(plan.thinkMs(0, 0)).toBe(50);
  });

  it("sends chat sessions as messages, and is the same for the same seed", () => {
    const w = sessionWorkload({ endpoint: "chat" });
    const a = buildSessionPlan(w, "m", uncalibrated());
    const b = buildSessionPlan(w, "m", uncalibrated());
    const body = JSON.parse(a.request(0, 2).body) as { messages: { role: string; content: string }[] };
    expect(body.messages.map((m) => m.role)).toEqual([
      "system",
      "user",
      "assistant",
      "user",
      "assistant",
      "user",
    ]);
    expect(body.messages.map((m) => words(m.content))).toEqual([10, 5, 3, 5, 3, 5]);
    expect(a.request(3, 1).body).toBe(b.request(3, 1).body);
  });

  it("draws turns and think times per session from the seed", () => {
    const plan = buildSessionPlan(
      sessionWorkload({
        sessions: {
          turns: { kind: "uniform", min: 1, max: 6 },
          thinkMs: { kind: "uniform", min: 10, max: 20 },
          systemPrompt: 0,
          count: 50,
        },
      }),
      "m",
      uncalibrated(),
    );
    const turns = Array.from({ length: 50 }, (_, s) => plan.turns(s));
    expect(new Set(turns).size).toBeGreaterThan(3);
    expect(turns.every((t) => t >= 1 && t <= 6)).toBe(true);
    const think = plan.thinkMs(7, 1);
    expect(think).toBeGreaterThanOrEqual(10);
    expect(think).toBeLessThanOrEqual(20);
    // No system prompt: turn 0 is the user message alone.
    expect(plan.request(0, 0).promptTokens).toBe(5);
  });
});

describe("sessions against the sim server", () => {
  let sim: SimChild;
  let dir: string;
  beforeAll(async () => {
    sim = await startSimChild({ ttftMs: 5, itlMs: 2, noGroundTruth: true });
    dir = mkdtempSync(join(tmpdir(), "tokenforge-sessions-"));
  });
  afterAll(async () => {
    await sim?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const run = (workload: Workload, out: string) =>
    runBenchmark({
      config: { model: "sim", runtimes: ["sim"], targets: { sim: sim.url }, workloads: [workload], seed: 9 },
      runtimes: new RuntimeRegistry([]),
      outDir: join(dir, out),
      serverMetrics: false,
    });

  it("runs open-loop sessions turn after turn, and reports each turn and each session", async () => {
    const result = await run(sessionWorkload(), "open");
    expect(result.status).toBe("complete");
    const r = result.results[0]!;
    expect(r.metrics.counts).toMatchObject({ total: 12, ok: 12 });
    // The sim counts words: the server's prompt tokens are the planned ones.
    expect(r.metrics.tokenMismatch.promptVsPlanned).toBe(0);
    const { turns, totals } = r.sessions!;
    expect(turns.map((t) => [t.turn, t.metrics.counts.ok])).toEqual([
      [1, 4],
      [2, 4],
      [3, 4],
    ]);
    expect(turns.map((t) => t.metrics.tokens.input)).toEqual([4 * 15, 4 * 23, 4 * 31]);
    expect(totals).toMatchObject({ started: 4, completed: 4, broken: 0, turnsSent: 12 });
    expect(totals.promptTokens!.mean).toBe(15 + 23 + 31);
    expect(totals.completionTokens!.mean).toBe(9);
    // Each turn is sent after the previous reply plus 50 ms of thinking, never before.
    const traces = [...readTraces(join(dir, "open", "requests.jsonl"))].filter((t) => !t.warmup);
    const byIndex = new Map(traces.map((t) => [t.index, t]));
    for (let s = 0; s < 4; s++) {
      for (let k = 1; k < 3; k++) {
        const prev = byIndex.get(s * TURN_STRIDE + k - 1)!;
        const cur = byIndex.get(s * TURN_STRIDE + k)!;
        expect(cur.scheduledMs).toBeCloseTo(prev.endMs! + 50, 2);
        // Node's timers may fire up to a millisecond early, and the reply's end is stamped after its
        // last event was read: 2 ms of slack.
        expect(cur.sendMs).toBeGreaterThanOrEqual(prev.endMs! + 50 - 2);
      }
    }
    // Session starts follow the schedule: 50 ms apart.
    const firsts = [0, 1, 2, 3].map((s) => byIndex.get(s * TURN_STRIDE)!.scheduledMs);
    expect(firsts[3]! - firsts[0]!).toBeCloseTo(150, 2);
  }, 60_000);

  it("runs a fixed number of users, each starting a session when its last one ends", async () => {
    const result = await run(
      sessionWorkload({
        qps: undefined,
        arrival: { kind: "poisson" },
        concurrency: 2,
        sessions: { turns: fixed(2), systemPrompt: 0, count: 5 },
      }),
      "users",
    );
    const r = result.results[0]!;
    expect(r.metrics.counts.ok).toBe(10);
    expect(r.metrics.peakConcurrency).toBeLessThanOrEqual(2);
    expect(r.sessions!.totals).toMatchObject({ started: 5, completed: 5 });
  }, 60_000);
});
