/**
 * Forwards a generation request to a worker and streams its answer back as it arrives: status,
 * content type and every byte, with nothing buffered across chunks (the timing contract of
 * PROTOCOL.md holds through the gateway). An unreachable worker is a 502 before anything is sent.
 */
import { pipeline } from "node:stream/promises";
import type { FastifyReply } from "fastify";
import { Agent, request } from "undici";
import { TokenForgeError } from "../errors.js";
import type { GatewayMetrics } from "./metrics.js";

/** What a forwarded request is counted under. */
export interface ForwardLabels {
  model: string;
  runtime: string;
}

export class WorkerProxy {
  constructor(private readonly metrics?: GatewayMetrics) {}

  private readonly agent = new Agent({
    connections: null,
    pipelining: 1,
    headersTimeout: 300_000,
    bodyTimeout: 300_000,
  });

  async forward(
    reply: FastifyReply,
    endpoint: string,
    path: string,
    body: unknown,
    labels: ForwardLabels,
  ): Promise<void> {
    const started = performance.now();
    const m = this.metrics;
    m?.inFlight.inc();
    try {
      await this.send(reply, endpoint, path, body, labels, started);
    } finally {
      m?.inFlight.dec();
    }
  }

  private async send(
    reply: FastifyReply,
    endpoint: string,
    path: string,
    body: unknown,
    labels: ForwardLabels,
    started: number,
  ): Promise<void> {
    const m = this.metrics;
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(`${endpoint.replace(/\/+$/, "")}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        dispatcher: this.agent,
      });
    } catch (err) {
      m?.proxied.inc({ ...labels, status: "502" });
      throw new TokenForgeError(
        "bad_gateway",
        `the worker at ${endpoint} did not answer: ${(err as Error).message}`,
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
    m?.proxied.inc({ ...labels, status: String(res.statusCode) });
    if (m) res.body.once("data", () => m.firstByte.observe(labels, (performance.now() - started) / 1000));
    try {
      await pipeline(res.body, raw);
      m?.e2e.observe(labels, (performance.now() - started) / 1000);
    } catch {
      // The client left or the worker dropped the stream: both sides are closed by pipeline.
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
