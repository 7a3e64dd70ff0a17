/**
 * The harness's HTTP client: one undici pool per target and one small handler object per
 * request, driven by undici's dispatch callbacks. Timestamps are taken in the callbacks, where
 * bytes arrive; the stream is read with the byte scanner in sse-scan.ts. No retries: a failed
 * request is recorded as failed.
 */

import type { Dispatcher } from "undici";
import { Pool } from "undici";
import { errorMessage, SseScanner, type SseSink, type StreamUsage } from "./sse-scan.js";
import type { RequestTrace } from "./types.js";

export type Endpoint = "completions" | "chat";

export interface Target {
  baseUrl: string;
  model: string;
  endpoint: Endpoint;
  stream: boolean;
  /** Sent with every request (an API key, for example). */
  headers?: Record<string, string>;
}

/** A request's body is built by the caller; the client only sends and times it. */
export interface ClientRequest {
  id: string;
  body: string;
  trace: RequestTrace;
}

const MAX_ERROR_BODY = 2048;
/** No response headers, or no byte of the body, for this long fails the request (as vLLM's client). */
export const STALL_TIMEOUT_MS = 300_000;

export class BenchClient {
  private readonly pool: Pool;
  private readonly path: string;
  private readonly origin: string;
  private readonly inflight = new Set<RequestHandler>();
  /** Called after response bytes are handled, so the runner can send what fell due meanwhile. */
  onActivity: (() => void) | undefined;

  constructor(
    readonly target: Target,
    /** `performance.now()` of the run's start; trace times are offsets from it. */
    readonly t0: number,
  ) {
    const url = new URL(target.baseUrl);
    this.origin = url.origin;
    const base = url.pathname.replace(/\/+$/, "");
    this.path = `${base}/v1/${target.endpoint === "chat" ? "chat/completions" : "completions"}`;
    this.pool = new Pool(this.origin, {
      connections: null,
      pipelining: 1,
      // A server that stops sending without closing fails the request after this long.
      headersTimeout: STALL_TIMEOUT_MS,
      bodyTimeout: STALL_TIMEOUT_MS,
      keepAliveTimeout: 30_000,
    });
  }

  get inFlight(): number {
    return this.inflight.size;
  }

  /** Sends now; `onEnd` receives the finished trace exactly once. */
  send(req: ClientRequest, onEnd: (trace: RequestTrace) => void): void {
    const handler = new RequestHandler(this, req.trace, onEnd);
    this.inflight.add(handler);
    // Provisional: replaced by the moment undici writes the request (onRequestStart).
    req.trace.sendMs = performance.now() - this.t0;
    const headers: Record<string, string> = {
      "content-type": "application/json",
      accept: this.target.stream ? "text/event-stream" : "application/json",
      "x-request-id": req.id,
      ...this.target.headers,
    };
    this.pool.dispatch(
      { origin: this.origin, path: this.path, method: "POST", headers, body: req.body },
      handler,
    );
  }

  /** Ends every request in flight as incomplete (Ctrl-C, a stopped run). */
  abortAll(reason: string): void {
    for (const h of [...this.inflight]) h.abort(reason);
  }

  async close(): Promise<void> {
    this.abortAll("run stopped");
    await this.pool.destroy();
  }

  /** @internal */
  finished(handler: RequestHandler): void {
    this.inflight.delete(handler);
  }
}

class RequestHandler implements Dispatcher.DispatchHandler, SseSink {
  private controller: Dispatcher.DispatchController | undefined;
  private scanner: SseScanner | undefined;
  private body: Buffer[] | undefined;
  private bodyBytes = 0;
  private now = 0;
  private lastRunningTokens = 0;
  private ended = false;
  private abortReason: string | undefined;

  constructor(
    private readonly client: BenchClient,
    private readonly trace: RequestTrace,
    private readonly onEnd: (trace: RequestTrace) => void,
  ) {}

  abort(reason: string): void {
    if (this.ended) return;
    this.abortReason = reason;
    if (this.controller) this.controller.abort(new Error(reason));
    else this.finish("incomplete", reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    // undici calls this right before it writes the request to the socket, which on a reused
    // keep-alive connection is one event-loop turn after dispatch (it first checks the idle
    // socket for a close): the send time is when the bytes leave, not when they were queued.
    this.trace.sendMs = performance.now() - this.client.t0;
    if (this.abortReason !== undefined) controller.abort(new Error(this.abortReason));
  }

  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number): void {
    const t = this.client.t0;
    this.trace.headersMs = performance.now() - t;
    this.trace.status = statusCode;
    if (statusCode === 200 && this.client.target.stream) {
      this.scanner = new SseScanner(this.client.target.endpoint, this);
    } else {
      this.body = [];
    }
  }

  onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.ended) return;
    this.now = performance.now() - this.client.t0;
    if (this.scanner !== undefined) {
      this.scanner.push(chunk);
      this.client.onActivity?.();
      return;
    }
    const limit = this.trace.status === 200 ? Number.POSITIVE_INFINITY : MAX_ERROR_BODY;
    if (this.bodyBytes < limit && this.body) {
      this.body.push(chunk);
      this.bodyBytes += chunk.length;
    }
  }

  onResponseEnd(): void {
    if (this.ended) return;
    this.trace.endMs = performance.now() - this.client.t0;
    const status = this.trace.status ?? 0;
    if (status !== 200) {
      const text = this.body ? Buffer.concat(this.body).toString("utf8") : "";
      this.finish("error", `HTTP ${status}: ${errorMessage(text)}`);
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
    this.trace.endMs = performance.now() - this.client.t0;
    if (this.abortReason !== undefined) this.finish("incomplete", this.abortReason);
    else this.finish("error", error.message || error.name);
  }

  // SseSink
  onStreamContent(usage: StreamUsage | undefined): void {
    this.trace.chunkMs.push(this.now);
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
    this.trace.error = message;
  }

  onStreamDone(): void {
    // The stream may still close after [DONE]; the end time is taken when it does.
  }

  private wholeReply(): void {
    const text = this.body ? Buffer.concat(this.body).toString("utf8") : "";
    try {
      const reply = JSON.parse(text) as {
        usage?: { prompt_tokens?: unknown; completion_tokens?: unknown };
        error?: unknown;
      };
      if (reply.error !== undefined) {
        this.finish("error", errorMessage(text));
        return;
      }
      const u = reply.usage;
      if (u && typeof u.prompt_tokens === "number" && typeof u.completion_tokens === "number") {
        this.trace.usage = { promptTokens: u.prompt_tokens, completionTokens: u.completion_tokens };
      }
      this.finish("ok");
    } catch {
      this.finish("error", `reply is not JSON: ${text.slice(0, 200)}`);
    }
  }

  private finish(outcome: RequestTrace["outcome"], error?: string): void {
    if (this.ended) return;
    this.ended = true;
    this.trace.outcome = outcome;
    if (error !== undefined) this.trace.error = error;
    else delete this.trace.error;
    this.client.finished(this);
    this.onEnd(this.trace);
  }
}
