/**
 * The first-request check: before any schedule is sent, one request of the first workload's shape
 * goes to each target through the same client as the measured requests, as `vllm bench serve`
 * sends one test request first. A wrong model name, a missing route, a refused API key or a
 * broken stream then stops the run at once with the server's own message, instead of becoming
 * a run of failed requests. The check is recorded in the result and counted in no metric; its
 * time is the yardstick of each workload's default stall timeout (stall.ts).
 */
import { TokenForgeError } from "../errors.js";
import { BenchClient, type Target } from "./client.js";
import type { Plan } from "./plan.js";
import type { ReferenceRequest } from "./stall.js";
import type { Outcome, RequestTrace } from "./types.js";

/**
 * The check's prompt index among the plan's warmup prompts: the prompt's first words encode it,
 * and no warmup or measured request comes near it, so the check warms no prefix cache for them.
 */
const CHECK_INDEX = 0x3fffffff;

/** What the check saw on one target (times in ms from its send). */
export interface FirstRequestCheck {
  runtime: string;
  url: string;
  workload: string;
  outcome: Outcome;
  status?: number;
  error?: string;
  promptTokens: number;
  maxTokens: number;
  usage?: { promptTokens: number; completionTokens: number };
  ttftMs?: number;
  e2eMs?: number;
}

export interface CheckOptions {
  plan: Plan;
  target: Target;
  runtime: string;
  url: string;
  stallTimeoutMs: number;
  signal?: AbortSignal;
}

/** Sends the check request to one target and waits for its end. */
export async function checkFirstRequest(o: CheckOptions): Promise<FirstRequestCheck> {
  const t0 = performance.now();
  const client = new BenchClient(o.target, t0, { stallTimeoutMs: o.stallTimeoutMs });
  const planned = o.plan.request(CHECK_INDEX, true);
  const trace: RequestTrace = {
    index: CHECK_INDEX,
    warmup: true,
    scheduledMs: 0,
    sendMs: 0,
    chunkMs: [],
    outcome: "incomplete",
    promptTokens: planned.promptTokens,
    maxTokens: planned.maxTokens,
  };
  const onAbort = () => client.abortAll("interrupted");
  o.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    if (o.signal?.aborted) return record(o, trace);
    await new Promise<RequestTrace>((resolve) => {
      client.send({ id: `${o.plan.workload.name}-${o.runtime}-check`, body: planned.body, trace }, resolve);
    });
    return record(o, trace);
  } finally {
    o.signal?.removeEventListener("abort", onAbort);
    await client.close();
  }
}

function record(o: CheckOptions, t: RequestTrace): FirstRequestCheck {
  const out: FirstRequestCheck = {
    runtime: o.runtime,
    url: o.url,
    workload: o.plan.workload.name,
    outcome: t.outcome,
    promptTokens: t.promptTokens,
    maxTokens: t.maxTokens,
  };
  if (t.status !== undefined) out.status = t.status;
  if (t.error !== undefined) out.error = t.error;
  if (t.usage !== undefined) out.usage = t.usage;
  if (t.chunkMs[0] !== undefined) out.ttftMs = t.chunkMs[0] - t.sendMs;
  if (t.endMs !== undefined) out.e2eMs = t.endMs - t.sendMs;
  return out;
}

/** The check as the yardstick of stall timeouts: its time and token counts (server's when reported). */
export function referenceOf(check: FirstRequestCheck): ReferenceRequest | undefined {
  if (check.outcome !== "ok" || check.e2eMs === undefined) return undefined;
  return {
    e2eMs: check.e2eMs,
    promptTokens: check.usage?.promptTokens ?? check.promptTokens,
    completionTokens: check.usage?.completionTokens ?? check.maxTokens,
  };
}

/**
 * The error that stops a run whose check failed. A refusal that is the config's doing (a 4xx
 * other than 408 and 429: wrong model, route, key or request shape) is `invalid_request`, which
 * the CLI exits 2 for; anything else (a server error, a broken stream, a stall, no connection)
 * is `bad_gateway`, exit 1.
 */
export function checkFailure(check: FirstRequestCheck): TokenForgeError {
  const message =
    `the first request to runtime ${check.runtime} at ${check.url} (workload ${check.workload}) failed, ` +
    `so no request of the schedule was sent: ${check.error ?? check.outcome}`;
  const s = check.status;
  if (s !== undefined && s >= 400 && s < 500 && s !== 408 && s !== 429) {
    const field = s === 404 ? "model" : s === 401 || s === 403 ? `targets.${check.runtime}` : undefined;
    return new TokenForgeError("invalid_request", message, field === undefined ? {} : { field });
  }
  return new TokenForgeError("bad_gateway", message);
}
