/**
 * The harness's HTTP client: one undici pool per target and one small handler object per
 * request (client-request.ts), driven by undici's dispatch callbacks. Timestamps are taken in the
 * callbacks, where bytes arrive; the stream is read with the byte scanner in sse-scan.ts. No
 * retries: a failed request is recorded as failed, with its reason.
 *
 * Stalls are watched here rather than by undici's per-socket timers, because a request that has
 * not had its first byte yet may be queued in the server rather than stalled: a request ends as
 * stalled when it got no byte for `stallTimeoutMs` and either its reply had started or the whole
 * target sent nothing to any request for that long.
 */

import { Pool } from "undici";
import { RequestHandler } from "./client-request.js";
import { DEFAULT_MAX_LINE_BYTES } from "./sse-scan.js";
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

export interface ClientOptions {
  /** A request with no byte from the server for this long ends as an error (default 60 s). */
  stallTimeoutMs?: number;
  /** The longest SSE line, and the largest non-streamed reply body, accepted (default 8 MiB). */
  maxReplyBytes?: number;
}

/** The stall timeout when neither the workload nor the caller gives one. */
export const DEFAULT_STALL_TIMEOUT_MS = 60_000;

export class BenchClient {
  private readonly pool: Pool;
  private readonly path: string;
  private readonly origin: string;
  private readonly inflight = new Set<RequestHandler>();
  private watchdog: NodeJS.Timeout | undefined;
  /** `performance.now()` of the last byte any request of this target received. */
  private lastByteAt: number;
  readonly stallTimeoutMs: number;
  readonly maxReplyBytes: number;
  /** Called after response bytes are handled, so the runner can send what fell due meanwhile. */
  onActivity: (() => void) | undefined;

  constructor(
    readonly target: Target,
    /** `performance.now()` of the run's start; trace times are offsets from it. */
    readonly t0: number,
    options: ClientOptions = {},
  ) {
    this.stallTimeoutMs = options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
    this.maxReplyBytes = options.maxReplyBytes ?? DEFAULT_MAX_LINE_BYTES;
    const url = new URL(target.baseUrl);
    this.origin = url.origin;
    const base = url.pathname.replace(/\/+$/, "");
    this.path = `${base}/v1/${target.endpoint === "chat" ? "chat/completions" : "completions"}`;
    this.pool = new Pool(this.origin, {
      connections: null,
      pipelining: 1,
      // Stalls are the watchdog's (see above); undici's own timers would also fail queued requests.
      headersTimeout: 0,
      bodyTimeout: 0,
      keepAliveTimeout: 30_000,
    });
    this.lastByteAt = performance.now();
  }

  get inFlight(): number {
    return this.inflight.size;
  }

  /** Sends now; `onEnd` receives the finished trace exactly once. */
  send(req: ClientRequest, onEnd: (trace: RequestTrace) => void): void {
    const handler = new RequestHandler(this, req.trace, onEnd);
    this.inflight.add(handler);
    this.watchdog ??= this.startWatchdog();
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
    clearInterval(this.watchdog);
    this.watchdog = undefined;
    await this.pool.destroy();
  }

  /** @internal A byte arrived for one of this target's requests. */
  noteByte(at: number): void {
    this.lastByteAt = at;
  }

  /** @internal */
  finished(handler: RequestHandler): void {
    this.inflight.delete(handler);
  }

  /** Checks the requests in flight a few times per stall timeout (at most once a second). */
  private startWatchdog(): NodeJS.Timeout {
    const every = Math.min(1000, Math.max(10, this.stallTimeoutMs / 4));
    const timer = setInterval(() => this.failStalled(), every);
    timer.unref();
    return timer;
  }

  private failStalled(): void {
    const now = performance.now();
    const limit = this.stallTimeoutMs;
    const targetQuiet = now - this.lastByteAt >= limit;
    const seconds = limit / 1000;
    for (const h of [...this.inflight]) {
      if (now - h.lastByteAt < limit) continue;
      if (h.replyStarted) h.fail(`stalled: no byte for ${seconds} s mid-reply (stall timeout)`);
      else if (targetQuiet)
        h.fail(
          `stalled: no reply within ${seconds} s, and the server sent nothing meanwhile (stall timeout)`,
        );
    }
  }
}
