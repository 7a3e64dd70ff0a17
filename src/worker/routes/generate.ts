/**
 * POST /v1/completions and /v1/chat/completions: runs one generation, streamed or whole, and
 * records its timings. A client that goes away aborts the generation, which frees its sequence.
 * Admission (gate.ts) runs before the body is read; with a queue-time budget, a request still
 * waiting for a sequence when the budget runs out is taken out of the queue and refused with 429.
 */
import { randomUUID } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { isTokenForgeError, TokenForgeError } from "../../errors.js";
import type { Engine, FinishReason, StreamEvent, Usage } from "../../spec/engine.js";
import type { EngineHolder } from "../engine-holder.js";
import type { WorkerGate } from "../gate.js";
import { type Endpoint, prepareRequest } from "../generation-request.js";
import type { WorkerMetrics } from "../metrics.js";
import { ShapeWriter } from "../openai-shapes.js";
import { ChatCompletionRequest, CompletionRequest } from "../schemas.js";
import { SseWriter } from "../sse.js";
import { requireEngine } from "./ready.js";

interface Deps {
  holder: EngineHolder;
  metrics: WorkerMetrics;
  gate: WorkerGate;
}

/** Observes one request's timings as its events arrive. */
class RequestTimer {
  private readonly arrived = performance.now();
  private lastToken: number | undefined;

  constructor(
    private readonly metrics: WorkerMetrics,
    private readonly labels: { model_name: string },
  ) {}

  admitted(): void {
    this.metrics.queueTime.observe(this.labels, (performance.now() - this.arrived) / 1000);
  }

  tokens(): void {
    const now = performance.now();
    if (this.lastToken === undefined) this.metrics.ttft.observe(this.labels, (now - this.arrived) / 1000);
    else this.metrics.itl.observe(this.labels, (now - this.lastToken) / 1000);
    this.lastToken = now;
  }

  finished(reason: FinishReason, usage: Usage): void {
    const m = this.metrics;
    m.e2e.observe(this.labels, (performance.now() - this.arrived) / 1000);
    m.requestSuccess.inc({ ...this.labels, finished_reason: reason });
    m.promptTokens.inc(this.labels, usage.promptTokens);
    m.generationTokens.inc(this.labels, usage.completionTokens);
    m.requestPromptTokens.observe(this.labels, usage.promptTokens);
    m.requestGenerationTokens.observe(this.labels, usage.completionTokens);
  }
}

async function handle(
  endpoint: Endpoint,
  deps: Deps,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<unknown> {
  const engine: Engine = requireEngine(deps.holder);
  const limits = deps.gate.limits(engine);
  let prepared: ReturnType<typeof prepareRequest>;
  try {
    prepared = prepareRequest(
      engine,
      endpoint,
      request.body as CompletionRequest | ChatCompletionRequest,
      limits,
    );
  } catch (err) {
    if (isTokenForgeError(err) && err.code === "payload_too_large")
      deps.gate.count(engine, "prompt_too_large");
    throw err;
  }
  const ticket = deps.gate.ticket(request);
  const abort = new AbortController();
  const onClose = () => {
    if (!reply.raw.writableEnded) abort.abort(new Error("client disconnected"));
  };
  reply.raw.on("close", onClose);
  const prefix = endpoint === "chat" ? "chatcmpl-" : "cmpl-";
  const shapes = new ShapeWriter(endpoint, prefix + randomUUID().replaceAll("-", ""), engine.info.model);
  const timer = new RequestTimer(deps.metrics, { model_name: engine.info.model });
  const queueDeadline = armQueueDeadline(limits.maxQueueMs, abort);
  const onAdmitted = () => {
    clearTimeout(queueDeadline?.timer);
    ticket?.started();
    timer.admitted();
  };
  const events = engine.generate({ ...prepared.engineRequest, signal: abort.signal });
  /** A failure before the reply started: a queue deadline is a counted 429, the rest as they are. */
  const failed = (err: unknown): never => {
    clearTimeout(queueDeadline?.timer);
    reply.raw.off("close", onClose);
    if (queueDeadline !== undefined && err === queueDeadline.error) {
      deps.gate.count(engine, "queue_timeout");
      reply.header("retry-after", "1");
    }
    throw err;
  };

  if (!prepared.stream) {
    let text = "";
    try {
      for await (const ev of events) {
        if (ev.type === "admitted") onAdmitted();
        else if (ev.type === "text") {
          timer.tokens();
          text += ev.text;
        } else {
          timer.finished(ev.reason, ev.usage);
          return shapes.full(text, ev.reason, ev.usage);
        }
      }
    } catch (err) {
      return failed(err);
    } finally {
      clearTimeout(queueDeadline?.timer);
      reply.raw.off("close", onClose);
    }
    throw new Error("generation ended without a finish event");
  }

  // Errors found before generation starts (queue abort, queue deadline, context checks) still
  // get a JSON reply.
  const iterator = events[Symbol.asyncIterator]();
  let first: IteratorResult<StreamEvent>;
  try {
    first = await iterator.next();
  } catch (err) {
    return failed(err);
  }
  reply.hijack();
  const sse = new SseWriter(reply.raw);
  sse.open();
  const role = shapes.roleChunk();
  if (role !== undefined) sse.send(role);
  try {
    let next = first;
    const running = prepared.continuousUsage
      ? { promptTokens: prepared.engineRequest.promptTokens?.length ?? 0, completionTokens: 0 }
      : undefined;
    while (!next.done) {
      const ev = next.value;
      if (ev.type === "admitted") onAdmitted();
      else if (ev.type === "text") {
        timer.tokens();
        if (running) running.completionTokens += ev.tokens;
        // Every piece goes out the moment it exists; finish_reason follows in a chunk of its own.
        if (ev.text.length > 0) sse.send(shapes.chunk(ev.text, null, running));
      } else {
        timer.finished(ev.reason, ev.usage);
        sse.send(shapes.chunk("", ev.reason, running && ev.usage));
        if (prepared.includeUsage) sse.send(shapes.usageChunk(ev.usage));
        break;
      }
      next = await iterator.next();
    }
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    sse.send({ error: { message, type: "server_error", param: null, code: "engine_error" } });
  } finally {
    clearTimeout(queueDeadline?.timer);
    sse.done();
    reply.raw.off("close", onClose);
    // Leaving the loop early must still run the engine's cleanup, which frees the sequence.
    await iterator.return?.();
  }
  return reply;
}

/** Aborts a request still waiting for a sequence after `ms`, with the 429 it is answered with. */
function armQueueDeadline(
  ms: number | undefined,
  abort: AbortController,
): { timer: NodeJS.Timeout; error: TokenForgeError } | undefined {
  if (ms === undefined) return undefined;
  const error = new TokenForgeError(
    "over_capacity",
    `over capacity: no sequence became free within the ${ms} ms queue budget (--max-queue-ms); retry later`,
  );
  const timer = setTimeout(() => abort.abort(error), ms);
  return { timer, error };
}

export function generateRoutes(app: FastifyInstance, deps: Deps): void {
  // Admission runs on arrival, before the body is read or parsed.
  const onRequest = deps.gate.admit;
  app.post("/v1/completions", { schema: { body: CompletionRequest }, onRequest }, (req, reply) =>
    handle("completions", deps, req, reply),
  );
  app.post("/v1/chat/completions", { schema: { body: ChatCompletionRequest }, onRequest }, (req, reply) =>
    handle("chat", deps, req, reply),
  );
}
