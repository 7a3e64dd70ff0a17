/**
 * The simulated server's routes: generation (`/v1/completions`, `/v1/chat/completions`), vLLM's and
 * llama.cpp's `/tokenize`, `/v1/models`, `/health`, `/metrics` and the ground truth
 * (`GET`/`DELETE /sim/ground-truth`); anything else is 404 in OpenAI's error shape. A request's
 * arrival is taken when Node has parsed its request line and headers.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import { jsonInner } from "./chunks.js";
import { Generation, type GenerationContext } from "./generation.js";
import { simMetrics } from "./metrics.js";
import {
  bad,
  countWords,
  errorBody,
  isObject,
  messagesTokensOf,
  type Plan,
  planOf,
  promptTokensOf,
  RequestError,
  sendJson,
} from "./requests.js";

/** A client's `x-request-id` is used when it is this tame; otherwise one is generated. */
const SAFE_ID = /^[\x21-\x7e]{1,256}$/;

function sendError(res: ServerResponse, e: RequestError, id?: string): void {
  const body = errorBody(e.status, e.message, e.param, e.code);
  const headers: Record<string, string | number> = {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
  };
  if (id !== undefined) headers["x-request-id"] = id;
  res.writeHead(e.status, headers);
  res.end(body);
}

export class SimRoutes {
  private requestCount = 0;
  private seq = 0;
  private readonly idPrefix = `sim-${Math.floor(Math.random() * 0xffffffff)
    .toString(16)
    .padStart(8, "0")}-`;
  private readonly startedS = Math.floor(Date.now() / 1000);
  private readonly arrivals = new WeakMap<IncomingMessage, number>();

  constructor(private readonly ctx: GenerationContext) {}

  /** Generation requests received (refused ones included). */
  get requests(): number {
    return this.requestCount;
  }

  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    // Arrival is when Node has parsed the request line and headers: the body of a benchmark
    // request comes in the same packet, and waiting for its 'end' event would add loop turns
    // that the client's measurement includes and the ground truth would not.
    this.arrivals.set(req, performance.now());
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    const method = req.method ?? "GET";
    const { truth } = this.ctx;
    if (method === "POST") {
      switch (path) {
        case "/v1/completions":
          this.withBody(req, res, (raw) => this.generate(req, res, raw, false));
          return;
        case "/v1/chat/completions":
          this.withBody(req, res, (raw) => this.generate(req, res, raw, true));
          return;
        case "/tokenize":
          this.withBody(req, res, (raw) => this.tokenize(res, raw));
          return;
      }
    } else if (method === "GET") {
      switch (path) {
        case "/health":
          sendJson(res, '{"status":"ok"}');
          return;
        case "/v1/models":
          sendJson(res, this.models());
          return;
        case "/metrics":
          res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
          res.end(this.metrics());
          return;
        case "/sim/ground-truth":
          res.setHeader("x-sim-ground-truth-dropped", String(truth.dropped));
          sendJson(res, JSON.stringify(truth.kept));
          return;
      }
    } else if (method === "DELETE" && path === "/sim/ground-truth") {
      truth.clear();
      res.writeHead(204);
      res.end();
      return;
    }
    sendError(res, new RequestError(404, `No route ${method} ${path}`, null, "not_found"));
  };

  /** Reads a POST body, then hands it on; 413 past the limit. */
  private withBody(req: IncomingMessage, res: ServerResponse, then: (raw: string) => void): void {
    const { maxBodyBytes } = this.ctx.o;
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size <= maxBodyBytes) chunks.push(c);
    });
    req.on("end", () => {
      if (size > maxBodyBytes) {
        sendError(res, new RequestError(413, `body exceeds ${maxBodyBytes} bytes`, "body", "body_too_large"));
        return;
      }
      then(chunks.length === 1 ? chunks[0]!.toString() : Buffer.concat(chunks).toString());
    });
  }

  private generate(req: IncomingMessage, res: ServerResponse, raw: string, chat: boolean): void {
    const { o, clock, texts } = this.ctx;
    const receivedMs = this.arrivals.get(req) ?? performance.now();
    const requests = ++this.requestCount;
    const header = req.headers["x-request-id"];
    const id = typeof header === "string" && SAFE_ID.test(header) ? header : this.idPrefix + ++this.seq;
    let plan: Plan | undefined;
    try {
      if (o.errorEvery > 0 && requests % o.errorEvery === 0)
        throw new RequestError(500, `simulated failure of request ${requests}`, null, "simulated_error");
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        throw bad("body", "is not valid JSON");
      }
      plan = planOf(body, chat, o.model, o.maxModelLen);
    } catch (err) {
      this.refuse(
        res,
        err instanceof RequestError ? err : new RequestError(500, String(err), null, null),
        id,
        receivedMs,
        0,
      );
      return;
    }
    const n = o.outputTokens ?? plan.maxTokens;
    if (clock && !clock.engine.fits(plan.promptTokens, n)) {
      const why = `prompt (${plan.promptTokens}) plus output (${n}) tokens exceed the simulated KV cache (${clock.engine.model.kvCacheTokens} tokens)`;
      this.refuse(res, bad("max_tokens", why), id, receivedMs, plan.promptTokens);
      return;
    }
    const created = Math.floor(Date.now() / 1000);
    const bodyId = (chat ? "chatcmpl-" : "cmpl-") + jsonInner(id);
    const pre = texts.prefix(bodyId, chat, created);
    new Generation(this.ctx, res, plan, id, pre, bodyId, created, n, receivedMs).start();
  }

  /** Answers a generation request with an error, and records it in the ground truth. */
  private refuse(
    res: ServerResponse,
    e: RequestError,
    id: string,
    receivedMs: number,
    promptTokens: number,
  ): void {
    sendError(res, e, id);
    if (this.ctx.o.recordGroundTruth)
      this.ctx.truth.record({
        id,
        receivedMs,
        tokenMs: [],
        endMs: performance.now(),
        promptTokens,
        completionTokens: 0,
        status: e.status,
      });
  }

  private tokenize(res: ServerResponse, raw: string): void {
    const { o } = this.ctx;
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      sendError(res, bad("body", "is not valid JSON"));
      return;
    }
    try {
      if (!isObject(body)) throw bad("body", "must be a JSON object");
      if (body.model !== undefined && body.model !== null && body.model !== o.model)
        throw new RequestError(
          404,
          `The model \`${String(body.model)}\` does not exist.`,
          "model",
          "model_not_found",
        );
      let count: number;
      let llama = false;
      if (body.messages !== undefined) count = messagesTokensOf(body.messages);
      else if (body.prompt !== undefined) count = promptTokensOf(body.prompt);
      else if (typeof body.content === "string") {
        count = countWords(body.content);
        llama = true;
      } else throw bad("prompt", "is required (or messages, or llama.cpp's content)");
      const tokens = Array.from({ length: count }, (_, i) => i);
      sendJson(res, JSON.stringify(llama ? { tokens } : { count, max_model_len: o.maxModelLen, tokens }));
    } catch (err) {
      sendError(res, err instanceof RequestError ? err : new RequestError(500, String(err), null, null));
    }
  }

  private models(): string {
    const { o } = this.ctx;
    return JSON.stringify({
      object: "list",
      data: [
        {
          id: o.model,
          object: "model",
          created: this.startedS,
          owned_by: "tokenforge-sim",
          max_model_len: o.maxModelLen,
        },
      ],
    });
  }

  private metrics(): string {
    const { active, truth, clock } = this.ctx;
    return simMetrics(
      {
        requests: this.requestCount,
        running: active.size,
        records: truth.kept.length,
        dropped: truth.dropped,
      },
      clock ? clock.metrics() : "",
    );
  }
}
