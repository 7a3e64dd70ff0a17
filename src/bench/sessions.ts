/**
 * Multi-turn chat sessions: the plan (pure in the seed) and the per-turn and per-session figures.
 *
 * Session s has T_s turns. Turn k's prompt is the conversation so far (a shared system prompt when
 * configured, then user message 0, reply 0, …, user message k), its new user message is
 * `prompt_len` tokens and its reply `gen_tokens` tokens, all drawn per (s, k) as a plain workload
 * draws them for request s·TURN_STRIDE + k. The earlier replies in the history are synthetic text
 * of the length planned for them, not what the server wrote, so every runtime gets exactly the
 * same prompts; on the completions endpoint turn k's prompt is exactly
 *
 *     overhead + system + Σ_{j<k} (user_j + reply_j) + user_k   tokens.
 *
 * On the chat endpoint the server's template adds a few tokens per message on top.
 */
import { hashString } from "../models/prng.js";
import { type AggregateContext, Aggregator } from "./aggregate.js";
import type { WorkloadMetrics } from "./metric-types.js";
import { planLengths } from "./plan.js";
import { type Calibration, sharedPrefix, syntheticPrompt } from "./prompts.js";
import { arrivalOffsets, createRandom, SeededRandom, sampleDistribution } from "./random.js";
import { type Summary, summarize } from "./stats.js";
import type { RequestTrace, Workload } from "./types.js";

/** Request index of turn k of session s: s·TURN_STRIDE + k. */
export const TURN_STRIDE = 128;
/** The most turns a session may have. */
export const MAX_TURNS = 100;
/** Offset of the replies' text indices, so a reply never starts like a user message. */
const REPLY_INDEX_BASE = 0x20000000;
const TURNS = hashString("session-turns");
const THINK = hashString("session-think");

export interface SessionPlan {
  workload: Workload;
  /** Sessions planned; Infinity when a closed loop of users runs for a duration. */
  count: number;
  /** Open loop: each session's start (ms); absent with users. */
  startsMs?: Float64Array;
  /** Closed loop: users, each starting its next session when its last one ends. */
  users?: number;
  durationMs?: number;
  turns(session: number): number;
  /** The pause after turn k's reply before turn k + 1 is sent. */
  thinkMs(session: number, turn: number): number;
  request(session: number, turn: number): { body: string; promptTokens: number; maxTokens: number };
}

export function buildSessionPlan(workload: Workload, model: string, calibration: Calibration): SessionPlan {
  const spec = workload.sessions!;
  const seed = workload.seed;
  const lengths = planLengths(workload);
  const system =
    spec.systemPrompt > 0 ? ` ${sharedPrefix(calibration, spec.systemPrompt, seed).join(" ")}` : undefined;
  /** Exactly `words` one-token words, starting with the words of `index`. */
  const text = (words: number, index: number) =>
    syntheticPrompt(calibration, { tokens: words + calibration.overhead, index, seed, prefix: [] });
  const turns = (s: number) =>
    Math.min(MAX_TURNS, sampleDistribution(spec.turns, new SeededRandom(seed >>> 0, s >>> 0, TURNS)));
  const thinkMs = (s: number, k: number) =>
    spec.thinkMs === undefined
      ? 0
      : sampleDistribution(spec.thinkMs, new SeededRandom(seed >>> 0, (s * TURN_STRIDE + k) >>> 0, THINK));
  const modelJson = JSON.stringify(model);
  const streamPart = workload.stream
    ? ',"stream":true,"stream_options":{"include_usage":true}'
    : ',"stream":false';
  const request = (s: number, k: number) => {
    const parts: Array<{ role: "system" | "user" | "assistant"; text: string }> = [];
    let tokens = calibration.overhead;
    if (system !== undefined) {
      parts.push({ role: "system", text: system });
      tokens += spec.systemPrompt;
    }
    for (let j = 0; j <= k; j++) {
      const i = s * TURN_STRIDE + j;
      const user = lengths.promptTokens(i);
      parts.push({ role: "user", text: text(user, i) });
      tokens += user;
      if (j < k) {
        const reply = lengths.maxTokens(i);
        parts.push({ role: "assistant", text: text(reply, REPLY_INDEX_BASE + i) });
        tokens += reply;
      }
    }
    const input =
      workload.endpoint === "chat"
        ? `"messages":${JSON.stringify(parts.map((p) => ({ role: p.role, content: p.text })))}`
        : `"prompt":${JSON.stringify(parts.map((p) => p.text).join(""))}`;
    const maxTokens = lengths.maxTokens(s * TURN_STRIDE + k);
    return {
      body: `{"model":${modelJson},${input},"max_tokens":${maxTokens},"temperature":0,"ignore_eos":true${streamPart}}`,
      promptTokens: tokens,
      maxTokens,
    };
  };
  const base = { workload, turns, thinkMs, request };
  const durationMs = workload.durationS === undefined ? undefined : workload.durationS * 1000;
  if (workload.concurrency !== undefined) {
    return {
      ...base,
      count: spec.count ?? Number.POSITIVE_INFINITY,
      users: workload.concurrency,
      ...(durationMs === undefined ? {} : { durationMs }),
    };
  }
  const qps = workload.qps ?? 1;
  const rng = createRandom(seed, "session-arrival");
  let startsMs: Float64Array;
  if (spec.count !== undefined) startsMs = arrivalOffsets(workload.arrival, qps, spec.count, rng);
  else {
    const expected = (qps * (durationMs ?? 0)) / 1000;
    const drawn = arrivalOffsets(
      workload.arrival,
      qps,
      Math.ceil(expected * 1.3 + 10 * Math.sqrt(expected) + 10),
      rng,
    );
    let n = 0;
    while (n < drawn.length && drawn[n]! < (durationMs ?? 0)) n++;
    startsMs = drawn.slice(0, n);
  }
  return { ...base, count: startsMs.length, startsMs };
}

/** The figures of one turn index across sessions. */
export interface TurnMetrics {
  /** 1-based turn index. */
  turn: number;
  metrics: WorkloadMetrics;
}

/** Totals per session, over the sessions the run started. */
export interface SessionTotals {
  started: number;
  /** Every turn completed ok. */
  completed: number;
  /** Ended early: a turn failed (the rest were not sent) or the run stopped. */
  broken: number;
  turnsSent: number;
  /** First send to last end of each completed session, ms. */
  durationMs?: Summary;
  /** Server-reported prompt and completion tokens per completed session. */
  promptTokens?: Summary;
  completionTokens?: Summary;
  /** Prefix-cache hits over queries during the run, from the server's metrics when it has them. */
  prefixCacheHitRate?: number;
}

/** Per-turn metrics (TTFT by turn index shows the prefix cache at work) and per-session totals. */
export function sessionMetrics(
  plan: Pick<SessionPlan, "turns">,
  traces: Iterable<RequestTrace>,
  ctx: Omit<AggregateContext, "offeredQps" | "queuedRequests">,
): { turns: TurnMetrics[]; totals: SessionTotals } {
  const byTurn = new Map<number, Aggregator>();
  const bySession = new Map<
    number,
    {
      sent: number;
      ok: number;
      first: number;
      last: number;
      prompt: number;
      completion: number;
      usage: boolean;
    }
  >();
  for (const t of traces) {
    if (t.warmup) continue;
    const s = Math.floor(t.index / TURN_STRIDE);
    const k = t.index % TURN_STRIDE;
    let agg = byTurn.get(k);
    if (agg === undefined) {
      agg = new Aggregator(ctx);
      byTurn.set(k, agg);
    }
    agg.add(t);
    let x = bySession.get(s);
    if (x === undefined) {
      x = { sent: 0, ok: 0, first: Number.POSITIVE_INFINITY, last: 0, prompt: 0, completion: 0, usage: true };
      bySession.set(s, x);
    }
    x.sent++;
    if (t.outcome === "ok") x.ok++;
    x.first = Math.min(x.first, t.sendMs);
    x.last = Math.max(x.last, t.endMs ?? t.sendMs);
    if (t.usage === undefined) x.usage = false;
    else {
      x.prompt += t.usage.promptTokens;
      x.completion += t.usage.completionTokens;
    }
  }
  const durations: number[] = [];
  const prompts: number[] = [];
  const completions: number[] = [];
  let completed = 0;
  let turnsSent = 0;
  for (const [s, x] of bySession) {
    turnsSent += x.sent;
    if (x.ok !== plan.turns(s)) continue;
    completed++;
    durations.push(x.last - x.first);
    if (x.usage) {
      prompts.push(x.prompt);
      completions.push(x.completion);
    }
  }
  const totals: SessionTotals = {
    started: bySession.size,
    completed,
    broken: bySession.size - completed,
    turnsSent,
  };
  const d = summarize(durations);
  if (d) totals.durationMs = d;
  const p = summarize(prompts);
  if (p) totals.promptTokens = p;
  const c = summarize(completions);
  if (c) totals.completionTokens = c;
  const turns = [...byTurn.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([k, agg]) => ({ turn: k + 1, metrics: agg.finish() }));
  return { turns, totals };
}
