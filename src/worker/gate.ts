/**
 * The worker's limits bound to its engine once it has loaded (the default queue length follows
 * the engine's sequences), the admission counter in front of it, and the refusals as they go out:
 * 429 with `Retry-After` or 413, OpenAI's error body, counted by reason.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Engine } from "../spec/engine.js";
import { Admission, type RefusalReason, type Ticket } from "./admission.js";
import type { EngineHolder } from "./engine-holder.js";
import { type ResolvedLimits, resolveLimits, type WorkerLimits } from "./limits.js";
import type { WorkerMetrics } from "./metrics.js";
import { openAIError } from "./openai-errors.js";

export class WorkerGate {
  private bound: { engine: Engine; limits: ResolvedLimits; admission: Admission } | undefined;
  private readonly tickets = new WeakMap<FastifyRequest, Ticket>();

  constructor(
    private readonly options: WorkerLimits,
    private readonly holder: EngineHolder,
    private readonly metrics: WorkerMetrics,
  ) {}

  private bind(engine: Engine) {
    if (this.bound?.engine !== engine) {
      const limits = resolveLimits(this.options, engine.info.parallel);
      this.bound = { engine, limits, admission: new Admission(limits.maxWaiting, limits.maxQueueMs) };
    }
    return this.bound;
  }

  limits(engine: Engine): ResolvedLimits {
    return this.bind(engine).limits;
  }

  /**
   * onRequest hook of the generation routes: admits the request or refuses it with 429 before its
   * body is read. While the model loads nothing is admitted here; the route answers 503.
   */
  readonly admit = (req: FastifyRequest, reply: FastifyReply, done: () => void): void => {
    const engine = this.holder.engine;
    if (!engine) {
      done();
      return;
    }
    const { admission } = this.bind(engine);
    const result = admission.tryEnter(engine.info.parallel);
    if (!result.admitted) {
      this.count(engine, result.reason);
      // The body stays unread: Node discards it once the answer is out and keeps the connection
      // (closing instead could reset it under a client still sending, losing the 429).
      this.refuse(reply, result.message, result.retryAfterS);
      return;
    }
    this.tickets.set(req, result.ticket);
    reply.raw.once("close", result.ticket.release);
    done();
  };

  /** The request's admission ticket (undefined while the model was loading when it arrived). */
  ticket(req: FastifyRequest): Ticket | undefined {
    return this.tickets.get(req);
  }

  count(engine: Engine, reason: RefusalReason): void {
    this.metrics.refused.inc({ model_name: engine.info.model, reason });
  }

  refuse(reply: FastifyReply, message: string, retryAfterS: number): void {
    const { status, body } = openAIError(429, message, null, "over_capacity");
    reply.code(status).header("retry-after", String(retryAfterS)).send(body);
  }
}
