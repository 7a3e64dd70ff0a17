/**
 * One request of the harness's client, as an undici dispatch handler: it timestamps the send,
 * the response headers and every content chunk where the bytes arrive, reads a stream with the
 * byte scanner, and ends the request exactly once as `ok`, `error` (with a one-line reason) or
 * `incomplete` (stopped by the run). Every broken reply is an error: an HTTP status other than
 * 200, an error event, an event that is not JSON, a stream without `data: [DONE]`, a connection
 * lost mid-reply, an SSE line or a non-streamed body over the size limit, a stall.
 */

import type { Dispatcher } from "undici";
import type { BenchClient } from "./client.js";
import { redactText, secretsOfHeaders } from "./redact.js";
import {
  errorMessage,
  formatBytes,
  SseScanner,
  type SseSink,
  type StreamUsage,
  usageOf,
} from "./sse-scan.js";
import type { RequestTrace } from "./types.js";

/** The most of an error reply's body kept for its reason. */
const MAX_ERROR_BODY = 2048;

export class RequestHandler implements Dispatcher.DispatchHandler, SseSink {
  private controller: Dispatcher.DispatchController | undefined;
  private scanner: SseScanner | undefined;
  private body: Buffer[] | undefined;
  private bodyBytes = 0;
  private now = 0;
  private lastRunningTokens = 0;
  /** Arrival of the first answer chunk (reasoning chunks aside). */
  private firstAnswerMs: number | undefined;
  private ended = false;
  /** Why the run stopped this request (it ends incomplete). */
  private abortReason: string | undefined;
  /** Why the harness refused the reply (it ends as an error). */
  private failReason: string | undefined;
  /** `performance.now()` of the last byte received (the send, before any). */
  lastByteAt: number;
  /** True once the reply's content started: a content chunk, or any body byte when not streamed. */
  replyStarted = false;

  constructor(
    private readonly client: BenchClient,
    private readonly trace: RequestTrace,
    private readonly onEnd: (trace: RequestTrace) => void,
  ) {
    this.lastByteAt = performance.now();
  }

  /** Ends the request as incomplete: the run stopped it. */
  abort(reason: string): void {
    if (this.ended) return;
    this.abortReason = reason;
    if (this.controller) this.controller.abort(new Error(reason));
    else this.finish("incomplete", reason);
  }

  /** Ends the request as an error with `reason`, closing its connection. */
  fail(reason: string): void {
    if (this.ended || this.failReason !== undefined) return;
    this.failReason = reason;
    this.trace.endMs = performance.now() - this.client.t0;
    if (this.controller) this.controller.abort(new Error(reason));
    else this.finish("error", reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    // undici calls this right before it writes the request to the socket, which on a reused
    // keep-alive connection is one event-loop turn after dispatch (it first checks the idle
    // socket for a close): the send time is when the bytes leave, not when they were queued.
    const at = performance.now();
    this.trace.sendMs = at - this.client.t0;
    this.lastByteAt = at;
    const stopped = this.abortReason ?? this.failReason;
    if (stopped !== undefined) controller.abort(new Error(stopped));
  }

  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number): void {
    const at = performance.now();
    this.trace.headersMs = at - this.client.t0;
    this.trace.status = statusCode;
    this.lastByteAt = at;
    this.client.noteByte(at);
    if (statusCode === 200 && this.client.target.stream) {
      this.scanner = new SseScanner(this.client.target.endpoint, this, false, this.client.maxReplyBytes);
    } else {
      this.body = [];
    }
  }

  onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.ended || this.failReason !== undefined) return;
    const at = performance.now();
    this.now = at - this.client.t0;
    this.lastByteAt = at;
    this.client.noteByte(at);
    if (this.scanner !== undefined) {
      this.scanner.push(chunk);
      this.client.onActivity?.();
      return;
    }
    this.replyStarted = true;
    if (this.trace.status !== 200) {
      if (this.bodyBytes < MAX_ERROR_BODY && this.body) {
        this.body.push(chunk);
        this.bodyBytes += chunk.length;
      }
      return;
    }
    if (this.bodyBytes + chunk.length > this.client.maxReplyBytes) {
      this.body = undefined;
      this.fail(`reply body over ${formatBytes(this.client.maxReplyBytes)}`);
      return;
    }
    this.body?.push(chunk);
    this.bodyBytes += chunk.length;
  }

  onResponseEnd(): void {
    if (this.ended || this.failReason !== undefined) return;
    this.trace.endMs = performance.now() - this.client.t0;
    const status = this.trace.status ?? 0;
    if (status !== 200) {
      const text = this.body ? Buffer.concat(this.body).toString("utf8") : "";
      this.finish("error", oneLine(`HTTP ${status}: ${errorMessage(text)}`));
      return;
    }
    if (this.scanner !== undefined) {
      if (this.trace.outcome === "error") this.finish("error", this.trace.error ?? "error event");
      else if (this.scanner.done) this.finish("ok");
      else this.finish("error", "stream ended before data: [DONE]");
      return;
    }
    this.wholeReply();
  }

  onResponseError(_c: Dispatcher.DispatchController, error: Error): void {
    if (this.ended) return;
    if (this.failReason !== undefined) {
      this.finish("error", this.failReason);
      return;
    }
    this.trace.endMs = performance.now() - this.client.t0;
    if (this.abortReason !== undefined) this.finish("incomplete", this.abortReason);
    else {
      const what = error.message || error.name;
      const where = this.trace.status === undefined ? "no reply" : "connection lost mid-reply";
      this.finish("error", oneLine(`${where} (${what})`));
    }
  }

  // SseSink
  onStreamContent(usage: StreamUsage | undefined): void {
    this.replyStarted = true;
    this.trace.chunkMs.push(this.now);
    this.firstAnswerMs ??= this.now;
    if (this.trace.reasoningChunks !== undefined) this.trace.firstOutputMs ??= this.now;
    this.countTokens(usage);
  }

  /** A reasoning-only chunk: a token chunk like any other, counted apart and kept off TTFOT. */
  onStreamReasoning(usage: StreamUsage | undefined): void {
    this.replyStarted = true;
    this.trace.chunkMs.push(this.now);
    this.trace.reasoningChunks = (this.trace.reasoningChunks ?? 0) + 1;
    if (this.firstAnswerMs !== undefined) this.trace.firstOutputMs ??= this.firstAnswerMs;
    this.countTokens(usage);
  }

  private countTokens(usage: StreamUsage | undefined): void {
    if (usage !== undefined) {
      this.trace.usage = usage;
      if (this.trace.chunkTokens === undefined) this.trace.chunkTokens = [];
      this.trace.chunkTokens.push(usage.completionTokens - this.lastRunningTokens);
      this.lastRunningTokens = usage.completionTokens;
    }
  }

  onStreamUsage(usage: StreamUsage): void {
    this.trace.usage = usage;
  }

  onStreamError(message: string): void {
    this.trace.outcome = "error";
    this.trace.error = this.redacted(oneLine(message));
  }

  onStreamDone(): void {
    // The stream may still close after [DONE]; the end time is taken when it does.
  }

  onStreamInvalid(reason: string): void {
    this.fail(reason);
  }

  private wholeReply(): void {
    const text = this.body ? Buffer.concat(this.body).toString("utf8") : "";
    let reply: { usage?: { prompt_tokens?: unknown; completion_tokens?: unknown }; error?: unknown };
    try {
      reply = JSON.parse(text) as typeof reply;
    } catch (err) {
      this.finish("error", oneLine(`reply is not JSON: ${(err as Error).message}`));
      return;
    }
    if (typeof reply !== "object" || reply === null || Array.isArray(reply)) {
      this.finish("error", oneLine(`reply is not a JSON object: ${text.slice(0, 200)}`));
      return;
    }
    if (reply.error !== undefined) {
      this.finish("error", oneLine(errorMessage(text)));
      return;
    }
    const usage = usageOf(reply.usage);
    if (usage !== undefined) this.trace.usage = usage;
    this.finish("ok");
  }

  /** A reason as it may be recorded: a server may echo the request's API key in its error. */
  private redacted(reason: string): string {
    return redactText(reason, secretsOfHeaders(this.client.target.headers));
  }

  private finish(outcome: RequestTrace["outcome"], error?: string): void {
    if (this.ended) return;
    this.ended = true;
    this.trace.outcome = outcome;
    if (error !== undefined) this.trace.error = this.redacted(error);
    else delete this.trace.error;
    this.client.finished(this);
    this.onEnd(this.trace);
  }
}

/** A reason on one line: requests.jsonl, the table and the top reasons print it as one. */
function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, " ");
}
