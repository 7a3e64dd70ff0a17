/**
 * Forwards a generation request to a worker and streams its answer back as it arrives: status,
 * content type and every byte, with nothing buffered across chunks (the timing contract of
 * PROTOCOL.md holds through the gateway). An unreachable worker is a 502 before anything is sent.
 *
 * An answer that breaks after the headers went out (the worker died or its connection dropped, or
 * an event stream ended without `data: [DONE]`) is never passed off as a success. An event stream
 * gets one `data: {"error": {...}}` event in OpenAI's shape and then `data: [DONE]`, the way vLLM
 * and TokenForge's own worker end a stream that failed: OpenAI clients raise on the error event,
 * and a client that reads until `[DONE]` still sees the stream end instead of waiting. Any other
 * body is cut off, so the client sees a truncated reply. Such a request is counted with status
 * `stream_error`; one whose client left first, with `client_closed`, and the worker's request is
 * aborted with it.
 *
 * Each deployment takes a bounded number of requests at once (admission.ts): past it a request
 * is refused with 429 and `Retry-After` before anything is sent, and counted by reason.
 */
import type { ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import type { FastifyReply } from "fastify";
import { Agent, request } from "undici";
import { TokenForgeError } from "../errors.js";
import { PROXIED_STATUS } from "../telemetry/catalogue.js";
import { openAIError } from "../worker/openai-errors.js";
import { DeploymentAdmission, GATEWAY_RETRY_AFTER_S } from "./admission.js";
import type { GatewayMetrics } from "./metrics.js";

/** What a forwarded request is counted under. */
export interface ForwardLabels {
  model: string;
  runtime: string;
}

/** Where a request goes: a replica's endpoint and the deployment it belongs to. */
export interface ForwardTarget {
  endpoint: string;
  deployment: string;
}

/** How a forwarded answer ended: whole, broken after its headers, or abandoned by the client. */
export type ForwardOutcome = "ok" | "stream_error" | "client_closed";

export class WorkerProxy {
  constructor(
    private readonly metrics?: GatewayMetrics,
    readonly admission: DeploymentAdmission = new DeploymentAdmission(),
    /** Sent to every worker (the key the local backend gave its workers); never to the client. */
    private readonly workerHeaders: Record<string, string> = {},
  ) {}

  private readonly agent = new Agent({
    connections: null,
    pipelining: 1,
    headersTimeout: 300_000,
    bodyTimeout: 300_000,
  });

  async forward(
    reply: FastifyReply,
    target: ForwardTarget,
    path: string,
    body: unknown,
    labels: ForwardLabels,
  ): Promise<void> {
    const started = performance.now();
    const m = this.metrics;
    const release = this.admission.tryEnter(target.deployment);
    if (release === undefined) {
      m?.refused.inc({ ...labels, reason: "deployment_busy" });
      reply.header("retry-after", String(GATEWAY_RETRY_AFTER_S));
      throw new TokenForgeError(
        "over_capacity",
        `over capacity: deployment ${target.deployment} has ${this.admission.maxInFlight} requests in flight (the gateway's limit per deployment); retry later`,
      );
    }
    m?.inFlight.inc();
    // A client that leaves stops the worker's request, whether or not the worker answered yet.
    const abort = new AbortController();
    const onClientGone = () => {
      if (!reply.raw.writableFinished) abort.abort();
    };
    reply.raw.once("close", onClientGone);
    try {
      await this.send(reply, target, path, body, labels, started, abort.signal);
    } finally {
      reply.raw.off("close", onClientGone);
      m?.inFlight.dec();
      release();
    }
  }

  private async send(
    reply: FastifyReply,
    target: ForwardTarget,
    path: string,
    body: unknown,
    labels: ForwardLabels,
    started: number,
    signal: AbortSignal,
  ): Promise<void> {
    const m = this.metrics;
    const { endpoint } = target;
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(`${endpoint.replace(/\/+$/, "")}${path}`, {
        method: "POST",
        headers: { ...this.workerHeaders, "content-type": "application/json" },
        body: JSON.stringify(body),
        dispatcher: this.agent,
        signal,
      });
    } catch (err) {
      m?.proxied.inc({
        ...labels,
        status: signal.aborted ? PROXIED_STATUS.clientClosed : PROXIED_STATUS.noAnswer,
      });
      throw new TokenForgeError(
        "bad_gateway",
        signal.aborted
          ? "the client closed the request before the worker answered"
          : `the worker at ${endpoint} did not answer: ${(err as Error).message}`,
      );
    }
    const contentType = res.headers["content-type"];
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(res.statusCode, {
      "content-type": typeof contentType === "string" ? contentType : "application/json",
      "cache-control": "no-cache",
    });
    raw.flushHeaders();
    if (m) res.body.once("data", () => m.firstByte.observe(labels, (performance.now() - started) / 1000));
    const events = typeof contentType === "string" && contentType.includes("text/event-stream");
    const outcome = await relay(res.body, raw, events ? new SseTail() : undefined, (cause) =>
      streamBroke(target, cause),
    );
    const status =
      outcome === "ok"
        ? String(res.statusCode)
        : outcome === "stream_error"
          ? PROXIED_STATUS.streamError
          : PROXIED_STATUS.clientClosed;
    m?.proxied.inc({ ...labels, status });
    if (outcome === "ok") m?.e2e.observe(labels, (performance.now() - started) / 1000);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

/**
 * Copies the worker's body to the client as it arrives (with backpressure) and ends the client's
 * response the way the worker's ended: whole, with an error event (event streams), or cut off.
 */
function relay(
  body: Readable,
  raw: ServerResponse,
  tail: SseTail | undefined,
  errorEvent: (cause: string) => string,
): Promise<ForwardOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (outcome: ForwardOutcome) => {
      if (settled) return;
      settled = true;
      raw.off("close", onClientClose);
      resolve(outcome);
    };
    const onClientClose = () => {
      body.destroy();
      settle("client_closed");
    };
    const onUpstreamEnd = (err?: Error) => {
      if (settled) return;
      body.unpipe(raw);
      if (raw.destroyed || raw.writableEnded) return settle("client_closed");
      if (tail === undefined) {
        if (err === undefined) {
          raw.end();
          return settle("ok");
        }
        raw.destroy();
        return settle("stream_error");
      }
      // Whatever follows a complete `data: [DONE]` (a connection dropped before its last bytes)
      // loses the client nothing.
      if (tail.done) {
        raw.end();
        return settle("ok");
      }
      const cause = err === undefined ? "it ended before data: [DONE]" : err.message || err.name;
      raw.end(`${tail.separator()}data: ${errorEvent(cause)}\n\ndata: [DONE]\n\n`);
      settle("stream_error");
    };
    if (raw.destroyed) {
      onClientClose();
      return;
    }
    if (tail !== undefined) body.on("data", (chunk: Buffer) => tail.push(chunk));
    body.once("end", () => onUpstreamEnd());
    body.once("error", (err: Error) => onUpstreamEnd(err));
    body.once("close", () => onUpstreamEnd(new Error("the connection closed")));
    raw.once("close", onClientClose);
    body.pipe(raw, { end: false });
  });
}

/** The error event's JSON: OpenAI's shape, naming the deployment and the worker's host. */
function streamBroke(target: ForwardTarget, cause: string): string {
  let host = "its endpoint";
  try {
    host = new URL(target.endpoint).host;
  } catch {
    // An endpoint that is not a URL is not named.
  }
  const message = `the worker's stream broke before it finished (deployment ${target.deployment} at ${host}): ${cause}`;
  return JSON.stringify(openAIError(502, message, null, "bad_gateway").body);
}

/** Bytes kept from the end of a stream: more than `\ndata: [DONE]\r\n\r\n`. */
const KEEP = 32;

/**
 * The last bytes of an event stream, enough to tell whether its last complete event was
 * `data: [DONE]` and whether it stopped between events. Each chunk costs a copy of at most
 * {@link KEEP} bytes; nothing is parsed until the stream ends.
 */
export class SseTail {
  private tail = "";

  push(chunk: Buffer): void {
    const piece = chunk.length >= KEEP ? chunk.subarray(chunk.length - KEEP) : chunk;
    this.tail = (this.tail + piece.toString("latin1")).slice(-KEEP);
  }

  /** True when the last complete line is `data: [DONE]` (the blank line after it may be missing). */
  get done(): boolean {
    return /(^|\n)data: ?\[DONE\]\r?\n(\r?\n)?$/.test(this.tail);
  }

  /** What to write first so that a new event starts on its own: the line ends `tail` lacks. */
  separator(): string {
    if (this.tail === "" || /\n\r?\n$/.test(this.tail)) return "";
    return this.tail.endsWith("\n") ? "\n" : "\n\n";
  }
}
