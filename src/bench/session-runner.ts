/**
 * Runs multi-turn sessions (sessions.ts) against one target. Sessions start open-loop at their
 * planned times, or as a fixed number of users each starting its next session when the last one
 * ended. Within a session each turn is sent when the previous reply has ended plus its think
 * time, so a turn's `scheduledMs` is that moment and any lateness of the client shows as lag. A
 * turn that fails ends its session: the later turns would need its reply.
 *
 * It takes the runner's options and returns the runner's summary, so a run drives it exactly as
 * it drives `runPlan`; the requests go through the same client and are traced the same way.
 */
import { BenchClient } from "./client.js";
import type { Progress, RunOptions, RunSummary } from "./runner.js";
import { type SessionPlan, TURN_STRIDE } from "./sessions.js";
import type { RequestTrace } from "./types.js";

/** Headroom before the first session, as the runner leaves before its first request. */
const LEAD_MS = 20;

export function runSessions(plan: SessionPlan): (opts: RunOptions) => Promise<RunSummary> {
  return (opts) => execute(plan, opts);
}

function execute(plan: SessionPlan, opts: RunOptions): Promise<RunSummary> {
  const t0 = performance.now();
  const client = new BenchClient(opts.target, t0, {
    ...(opts.stallTimeoutMs === undefined ? {} : { stallTimeoutMs: opts.stallTimeoutMs }),
    ...(opts.maxReplyBytes === undefined ? {} : { maxReplyBytes: opts.maxReplyBytes }),
  });
  const idPrefix = opts.requestIdPrefix ?? "tf";
  /** Pending timers and what they run: on an abort they run at once and see it. */
  const timers = new Map<NodeJS.Timeout, () => void>();
  let interrupted = opts.signal?.aborted === true;
  let sent = 0;
  let done = 0;
  let errors = 0;
  let active = 0;
  let nextSession = 0;
  let notSent = 0;
  let windowStart = Number.POSITIVE_INFINITY;
  let windowEnd = 0;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });

  const later = (ms: number, fn: () => void) => {
    const timer = setTimeout(
      () => {
        timers.delete(timer);
        fn();
      },
      Math.max(0, ms),
    );
    timers.set(timer, fn);
  };
  const nowMs = () => performance.now() - t0;
  /** Whether another session may still start (users start one whenever theirs ends). */
  const canStart = () =>
    !interrupted &&
    nextSession < plan.count &&
    (plan.durationMs === undefined || plan.startsMs !== undefined || nowMs() - LEAD_MS < plan.durationMs);
  const settle = () => {
    if (active === 0 && timers.size === 0 && !canStart()) finish();
  };

  const startSession = (s: number, scheduledMs: number, then: () => void) => {
    active++;
    const turns = plan.turns(s);
    const turn = (k: number, at: number) => {
      if (interrupted) {
        notSent += turns - k;
        active--;
        then();
        return;
      }
      const planned = plan.request(s, k);
      const trace: RequestTrace = {
        index: s * TURN_STRIDE + k,
        warmup: false,
        scheduledMs: at,
        sendMs: 0,
        chunkMs: [],
        outcome: "incomplete",
        promptTokens: planned.promptTokens,
        maxTokens: planned.maxTokens,
      };
      sent++;
      client.send({ id: `${idPrefix}-s${s}t${k}`, body: planned.body, trace }, (t) => {
        done++;
        if (t.outcome !== "ok") errors++;
        if (t.sendMs < windowStart) windowStart = t.sendMs;
        windowEnd = Math.max(windowEnd, t.endMs ?? t.sendMs);
        opts.onTrace(t);
        if (t.outcome === "ok" && k + 1 < turns) {
          const think = plan.thinkMs(s, k);
          const end = t.endMs ?? nowMs();
          later(end + think - nowMs(), () => turn(k + 1, end + think));
        } else {
          if (t.outcome !== "ok") notSent += turns - k - 1;
          active--;
          then();
        }
      });
    };
    turn(0, scheduledMs);
  };

  const progress = () => {
    if (!opts.onProgress) return;
    const elapsedS = nowMs() / 1000;
    const p: Progress = {
      phase: "measure",
      done,
      total: Number.isFinite(plan.count) ? plan.count : 0,
      inFlight: client.inFlight,
      errors,
      elapsedS,
      achievedRate: elapsedS > 0 ? sent / elapsedS : 0,
    };
    opts.onProgress(p);
  };
  const ticker = setInterval(progress, opts.progressIntervalMs ?? 1000);
  const onAbort = () => {
    interrupted = true;
    const pending = [...timers];
    timers.clear();
    for (const [timer, fn] of pending) {
      clearTimeout(timer);
      fn();
    }
    client.abortAll("interrupted");
    settle();
  };
  opts.signal?.addEventListener("abort", onAbort, { once: true });

  if (plan.startsMs !== undefined) {
    const starts = plan.startsMs;
    const launchDue = () => {
      while (!interrupted && nextSession < starts.length && starts[nextSession]! + LEAD_MS <= nowMs()) {
        const s = nextSession++;
        startSession(s, starts[s]! + LEAD_MS, settle);
      }
      if (!interrupted && nextSession < starts.length) {
        later(starts[nextSession]! + LEAD_MS - nowMs(), launchDue);
      }
      settle();
    };
    later(LEAD_MS, launchDue);
  } else {
    const user = () => {
      if (!canStart()) {
        settle();
        return;
      }
      const s = nextSession++;
      startSession(s, nowMs(), user);
    };
    later(LEAD_MS, () => {
      for (let u = 0; u < (plan.users ?? 1); u++) user();
      settle();
    });
  }

  return finished.then(async () => {
    clearInterval(ticker);
    opts.signal?.removeEventListener("abort", onAbort);
    progress();
    await client.close();
    if (plan.startsMs !== undefined) {
      for (let s = nextSession; s < plan.startsMs.length; s++) notSent += plan.turns(s);
    }
    return {
      interrupted,
      sent,
      notSent,
      queued: 0,
      windowStartMs: Number.isFinite(windowStart) ? windowStart : 0,
      windowEndMs: windowEnd,
      stallTimeoutMs: client.stallTimeoutMs,
    };
  });
}
