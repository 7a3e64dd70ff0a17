/**
 * One generation in progress on the simulated server: writes its reply's chunks as their times
 * come, timed by the fixed delays (each delay re-checked against `performance.now()`, so a chunk
 * is never written early) or by the performance model's steps (the engine clock calls `emit`),
 * and records what it did in the ground truth when it ends.
 */
import type { ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import { type ChunkTexts, DONE, usageJson } from "./chunks.js";
import type { FixedDelays } from "./delays.js";
import type { EngineClock } from "./engine-clock.js";
import type { GroundTruth, GroundTruthLog } from "./ground-truth.js";
import type { ResolvedSimOptions } from "./options.js";
import type { Plan } from "./requests.js";

/** What every generation of one server shares. */
export interface GenerationContext {
  readonly o: ResolvedSimOptions;
  readonly texts: ChunkTexts;
  readonly delays: FixedDelays;
  /** No delay of any kind: a reply is written at once, synchronously, under one socket cork. */
  readonly zeroDelay: boolean;
  /** With a performance model, every generation's tokens are timed by the engine's steps. */
  readonly clock: EngineClock<Generation> | undefined;
  readonly truth: GroundTruthLog;
  /** Generations in progress (those waiting on a timer or the engine). */
  readonly active: Set<Generation>;
}

export class Generation {
  timer: NodeJS.Timeout | undefined;
  immediate: NodeJS.Immediate | undefined;
  /** When the next write is due (performance.now() time). */
  target: number;
  /** Next content chunk. */
  i = 0;
  done = false;
  readonly nChunks: number;
  readonly lastK: number;
  readonly finish: string;
  /** Chat streams: chunks sent as reasoning first, and the reasoning tokens they carry (usage). */
  readonly reasoningChunks: number;
  readonly reasoning: number | undefined;
  readonly tokenMs: number[] | undefined;
  firstTokenMs: number | undefined;

  constructor(
    readonly ctx: GenerationContext,
    readonly res: ServerResponse,
    readonly plan: Plan,
    readonly id: string,
    /** `data: {"id":...,"choices":` — everything of a chunk before its choices. */
    readonly pre: string,
    readonly bodyId: string,
    readonly created: number,
    readonly n: number,
    readonly receivedMs: number,
  ) {
    const { o, delays } = ctx;
    const K = o.tokensPerChunk;
    this.nChunks = Math.ceil(n / K);
    this.lastK = n - (this.nChunks - 1) * K;
    this.finish = n >= plan.maxTokens ? "length" : "stop";
    this.reasoningChunks = plan.chat ? Math.min(Math.ceil(o.reasoningTokens / K), this.nChunks - 1) : 0;
    this.reasoning = this.reasoningChunks > 0 ? this.reasoningChunks * K : undefined;
    this.tokenMs = o.recordGroundTruth && plan.stream ? [] : undefined;
    this.target = receivedMs;
    // With a performance model the delays are all 0 and the engine's steps time the tokens.
    if (plan.stream) this.target += delays.ttft();
    // A whole reply waits as long as its stream would have taken.
    else this.target += delays.whole(this.nChunks);
  }

  readonly pump = (): void => {
    this.timer = undefined;
    this.immediate = undefined;
    if (this.done) return;
    let now = performance.now();
    if (now < this.target) {
      this.wait(this.target - now);
      return;
    }
    if (!this.plan.stream) {
      this.writeWhole();
      return;
    }
    const { o, delays } = this.ctx;
    for (;;) {
      now = this.writeChunk();
      if (this.done) return;
      const d = delays.itl();
      this.target = now + d;
      if (d > 0 || o.writeEach) {
        this.wait(d);
        return;
      }
    }
  };

  /** Writes content chunk `i` (and, after the last, usage and [DONE]); returns when it was written. */
  writeChunk(): number {
    const { res, plan } = this;
    const { o, texts } = this.ctx;
    const i = this.i;
    const last = i === this.nChunks - 1;
    const role = i === 0 && plan.chat && !o.leadingEmptyChunk;
    let choices: string;
    if (last) choices = texts.last(plan.chat, this.lastK, role, this.finish);
    else if (plan.chat && i < this.reasoningChunks)
      choices = role ? texts.firstReasoning : texts.midReasoning;
    else if (role) choices = texts.firstChat;
    else choices = plan.chat ? texts.midChat : texts.midCmpl;
    let tail = "}\n\n";
    if (plan.continuousUsage) {
      const done = last ? this.n + o.usageSkew : (i + 1) * o.tokensPerChunk;
      tail = `,"usage":${usageJson(plan.promptTokens, done, last ? this.reasoning : undefined)}}\n\n`;
    }
    res.write(this.pre + choices + tail);
    const now = performance.now();
    this.tokenMs?.push(now);
    if (i === 0) this.firstTokenMs = now;
    this.i = i + 1;
    if (last) {
      if (plan.includeUsage)
        res.write(
          `${this.pre}[],"usage":${usageJson(plan.promptTokens, this.n + o.usageSkew, this.reasoning)}}\n\n`,
        );
      res.end(DONE);
      this.end(performance.now(), false);
    }
    return now;
  }

  /** A token from the performance model's step: streamed at once; a whole reply after its last. */
  readonly emit = (done: boolean): void => {
    if (this.done) return;
    if (this.plan.stream) {
      this.writeChunk();
      return;
    }
    if (done) this.writeWhole();
  };

  wait(ms: number): void {
    // A timer may fire up to a millisecond early (the loop's clock is cached): re-checked in
    // pump, and the last fraction of a millisecond is spun through setImmediate.
    if (ms >= 1) this.timer = setTimeout(this.pump, ms);
    else this.immediate = setImmediate(this.pump);
  }

  /** Writes the whole (unstreamed) reply in one piece and ends. */
  writeWhole(): void {
    const { plan, ctx } = this;
    const body = ctx.texts.whole(
      this.bodyId,
      plan.chat,
      this.created,
      this.n,
      this.finish,
      plan.promptTokens,
      this.n + ctx.o.usageSkew,
    );
    this.res.writeHead(200, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
      "x-request-id": this.id,
    });
    this.res.end(body);
    this.end(performance.now(), false);
  }

  /** Writes the leading chunks (if configured) and starts the clock. */
  start(): void {
    const { res, plan, ctx } = this;
    const { o, texts, zeroDelay } = ctx;
    // With no delay everything is written now: one cork, one writev, no listener needed.
    if (zeroDelay) res.socket?.cork();
    if (plan.stream) {
      res.writeHead(200, {
        "content-type": "text/event-stream",
        "cache-control": "no-cache",
        "x-request-id": this.id,
      });
      if (o.leadingEmptyChunk) {
        const tail = plan.continuousUsage ? `,"usage":${usageJson(plan.promptTokens, 0)}}\n\n` : "}\n\n";
        for (const c of plan.chat ? texts.leadChat : texts.leadCmpl) res.write(this.pre + c + tail);
      } else if (!zeroDelay) res.flushHeaders();
    }
    if (zeroDelay) {
      this.pump();
      res.socket?.uncork();
      return;
    }
    ctx.active.add(this);
    res.on("close", this.onClose);
    if (ctx.clock) ctx.clock.submit(this, this.plan.promptTokens, this.n);
    else this.pump();
  }

  readonly onClose = (): void => {
    if (!this.done) this.end(performance.now(), true);
  };

  /** Stops everything (timers included) and records what happened. */
  end(endMs: number, aborted: boolean): void {
    if (this.done) return;
    this.done = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
    const { o, active, clock, truth } = this.ctx;
    active.delete(this);
    clock?.cancel(this);
    if (aborted && !this.res.destroyed) this.res.destroy();
    if (!o.recordGroundTruth) return;
    const gt: GroundTruth = {
      id: this.id,
      receivedMs: this.receivedMs,
      tokenMs: this.tokenMs ?? [],
      endMs,
      promptTokens: this.plan.promptTokens,
      completionTokens: this.plan.stream ? Math.min(this.n, this.i * o.tokensPerChunk) : aborted ? 0 : this.n,
      status: 200,
    };
    if (this.firstTokenMs !== undefined) gt.firstTokenMs = this.firstTokenMs;
    if (aborted) gt.aborted = true;
    truth.record(gt);
  }
}
