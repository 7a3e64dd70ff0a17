/**
 * A simulated OpenAI-compatible server (the worker protocol, `shared/PROTOCOL.md`) with
 * configurable, seeded timing and a record of when it wrote each chunk: the ground truth the
 * benchmark harness's TTFT/ITL measurements are checked against, and a target cheap enough per
 * request to push the harness past 1,000 req/s on a small machine.
 *
 * Cheapness: plain `node:http`, no schema library, every chunk built by concatenating strings
 * precomputed at start (no JSON.stringify per token), and with zero delays a whole stream written
 * synchronously under one cork.
 *
 * Prompt tokens are counted by one deterministic rule everywhere (generation usage and
 * `/tokenize`): the number of maximal runs of non-whitespace (JavaScript's `\s`) in the prompt;
 * for chat, summed over the messages' text content; a prompt of token ids counts its ids.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { Xoshiro128 } from "../../models/prng.js";
import { EngineClock } from "./engine-clock.js";
import { resolveOptions, type SimOptions } from "./options.js";
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

export type { SimOptions } from "./options.js";
export { countWords } from "./requests.js";

/**
 * What the server did for one generation request. Every time is `performance.now()` in the
 * server's process: compare intervals, never absolute times across processes.
 */
export interface GroundTruth {
  /** The request id: the `x-request-id` header if sent, else a generated one (echoed back). */
  id: string;
  /** When Node had parsed the request line and headers (the body arrives in the same packet). */
  receivedMs: number;
  /** Right after the first content chunk's write (streams only). */
  firstTokenMs?: number;
  /** Right after each content chunk's write, one entry per chunk (empty when not streamed). */
  tokenMs: number[];
  /** Right after the response ended (or when the client went away). */
  endMs: number;
  promptTokens: number;
  /** Tokens actually generated (written), before any usage skew. */
  completionTokens: number;
  status: number;
  /** The client disconnected before the response ended. */
  aborted?: boolean;
}

export interface SimServer {
  url: string;
  close(): Promise<void>;
  groundTruth(): GroundTruth[];
  clearGroundTruth(): void;
  /** Generation requests received (refused ones included). */
  readonly requests: number;
  /** Generation requests in progress. */
  readonly running: number;
}

const TOKEN = " tok";
const DONE = "data: [DONE]\n\n";
/** A client's `x-request-id` is used when it is this tame; otherwise one is generated. */
const SAFE_ID = /^[\x21-\x7e]{1,256}$/;

function jsonInner(s: string): string {
  return /^[\w.:-]*$/.test(s) ? s : JSON.stringify(s).slice(1, -1);
}

function usageJson(prompt: number, completion: number): string {
  return `{"prompt_tokens":${prompt},"completion_tokens":${completion},"total_tokens":${prompt + completion}}`;
}

export async function startSimServer(opts: SimOptions = {}): Promise<SimServer> {
  const o = resolveOptions(opts);
  // Seeded like every other draw in TokenForge (models/prng.ts).
  const rng = new Xoshiro128(o.seed >>> 0);
  const random = () => rng.next();
  // writeEach takes the timed path with zero delays: every chunk is its own event-loop turn.
  const zeroDelay = o.ttftMs === 0 && o.itlMs === 0 && o.jitterMs === 0 && !o.writeEach && !o.perf;
  const modelJson = JSON.stringify(o.model);
  const idPrefix = `sim-${Math.floor(Math.random() * 0xffffffff)
    .toString(16)
    .padStart(8, "0")}-`;
  const startedS = Math.floor(Date.now() / 1000);

  // Per-chunk `choices` strings, built once (the last chunk's are cached by shape).
  const K = o.tokensPerChunk;
  const fullText = TOKEN.repeat(K);
  const choice = (inner: string, finish: string | null): string =>
    `[{"index":0,${inner},"logprobs":null,"finish_reason":${finish === null ? "null" : `"${finish}"`}}]`;
  const cmplChoice = (text: string, finish: string | null) => choice(`"text":"${text}"`, finish);
  const chatChoice = (content: string, role: boolean, finish: string | null) =>
    choice(`"delta":{${role ? '"role":"assistant",' : ""}"content":"${content}"}`, finish);
  const MID_CMPL = cmplChoice(fullText, null);
  const MID_CHAT = chatChoice(fullText, false, null);
  const FIRST_CHAT = chatChoice(fullText, true, null);
  const LEAD_CMPL = [cmplChoice("", null)];
  const LEAD_CHAT = [
    choice(`"delta":{"role":"assistant"}`, null),
    chatChoice("", false, null),
    choice(`"delta":{"reasoning_content":""}`, null),
  ];
  const lastCache = new Map<string, string>();
  const lastChoices = (chat: boolean, k: number, role: boolean, finish: string): string => {
    const key = `${chat ? 1 : 0}${role ? 1 : 0}${finish}${k}`;
    let s = lastCache.get(key);
    if (s === undefined) {
      const text = TOKEN.repeat(k);
      s = chat ? chatChoice(text, role, finish) : cmplChoice(text, finish);
      lastCache.set(key, s);
    }
    return s;
  };

  let requests = 0;
  let running = 0;
  let seq = 0;
  let truthDropped = 0;
  let records: GroundTruth[] = [];
  const active = new Set<Generation>();

  const record = (gt: GroundTruth): void => {
    if (records.length < o.groundTruthLimit) records.push(gt);
    else truthDropped++;
  };

  const jittered = (base: number): number => {
    if (o.jitterMs === 0) return base;
    const d = base + (random() * 2 - 1) * o.jitterMs;
    return Math.max(d, 0);
  };

  /** One generation in progress: writes chunks as their times come. */
  class Generation {
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
    readonly tokenMs: number[] | undefined;
    firstTokenMs: number | undefined;

    constructor(
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
      this.nChunks = Math.ceil(n / K);
      this.lastK = n - (this.nChunks - 1) * K;
      this.finish = n >= plan.maxTokens ? "length" : "stop";
      this.tokenMs = o.recordGroundTruth && plan.stream ? [] : undefined;
      this.target = receivedMs;
      // With a performance model the delays are all 0 and the engine's steps time the tokens.
      if (plan.stream) this.target += jittered(o.ttftMs);
      else {
        // A whole reply waits as long as its stream would have taken.
        let total = jittered(o.ttftMs);
        for (let c = 1; c < this.nChunks; c++) total += jittered(o.itlMs);
        this.target += total;
      }
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
      const { res, plan } = this;
      if (!plan.stream) {
        const body = this.wholeBody();
        res.writeHead(200, {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          "x-request-id": this.id,
        });
        res.end(body);
        this.end(performance.now(), false);
        return;
      }
      for (;;) {
        now = this.writeChunk();
        if (this.done) return;
        const d = jittered(o.itlMs);
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
      const i = this.i;
      const last = i === this.nChunks - 1;
      const role = i === 0 && plan.chat && !o.leadingEmptyChunk;
      let choices: string;
      if (last) choices = lastChoices(plan.chat, this.lastK, role, this.finish);
      else if (role) choices = FIRST_CHAT;
      else choices = plan.chat ? MID_CHAT : MID_CMPL;
      let tail = "}\n\n";
      if (plan.continuousUsage) {
        const done = last ? this.n + o.usageSkew : (i + 1) * K;
        tail = `,"usage":${usageJson(plan.promptTokens, done)}}\n\n`;
      }
      res.write(this.pre + choices + tail);
      const now = performance.now();
      this.tokenMs?.push(now);
      if (i === 0) this.firstTokenMs = now;
      this.i = i + 1;
      if (last) {
        if (plan.includeUsage)
          res.write(`${this.pre}[],"usage":${usageJson(plan.promptTokens, this.n + o.usageSkew)}}\n\n`);
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
      if (!done) return;
      const body = this.wholeBody();
      this.res.writeHead(200, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(body),
        "x-request-id": this.id,
      });
      this.res.end(body);
      this.end(performance.now(), false);
    };

    wait(ms: number): void {
      // A timer may fire up to a millisecond early (the loop's clock is cached): re-checked in
      // pump, and the last fraction of a millisecond is spun through setImmediate.
      if (ms >= 1) this.timer = setTimeout(this.pump, ms);
      else this.immediate = setImmediate(this.pump);
    }

    wholeBody(): string {
      const { plan } = this;
      const text = TOKEN.repeat(this.n);
      const inner = plan.chat ? `"message":{"role":"assistant","content":"${text}"}` : `"text":"${text}"`;
      return `{"id":"${this.bodyId}","object":"${plan.chat ? "chat.completion" : "text_completion"}","created":${this.created},"model":${modelJson},"choices":[{"index":0,${inner},"logprobs":null,"finish_reason":"${this.finish}"}],"usage":${usageJson(plan.promptTokens, this.n + o.usageSkew)}}`;
    }

    /** Writes the leading chunks (if configured) and starts the clock. */
    start(): void {
      const { res, plan } = this;
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
          for (const c of plan.chat ? LEAD_CHAT : LEAD_CMPL) res.write(this.pre + c + tail);
        } else if (!zeroDelay) res.flushHeaders();
      }
      if (zeroDelay) {
        this.pump();
        res.socket?.uncork();
        return;
      }
      running++;
      active.add(this);
      res.on("close", this.onClose);
      if (clock) clock.submit(this, this.plan.promptTokens, this.n);
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
      if (active.delete(this)) running--;
      clock?.cancel(this);
      if (aborted && !this.res.destroyed) this.res.destroy();
      if (!o.recordGroundTruth) return;
      const gt: GroundTruth = {
        id: this.id,
        receivedMs: this.receivedMs,
        tokenMs: this.tokenMs ?? [],
        endMs,
        promptTokens: this.plan.promptTokens,
        completionTokens: this.plan.stream ? Math.min(this.n, this.i * K) : aborted ? 0 : this.n,
        status: 200,
      };
      if (this.firstTokenMs !== undefined) gt.firstTokenMs = this.firstTokenMs;
      if (aborted) gt.aborted = true;
      record(gt);
    }
  }

  // With a performance model, every generation's tokens are timed by the engine's steps.
  const clock = o.perf ? new EngineClock<Generation>(o.perf, o.seed) : undefined;

  const sendError = (res: ServerResponse, e: RequestError, id?: string): void => {
    const body = errorBody(e.status, e.message, e.param, e.code);
    const headers: Record<string, string | number> = {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
    };
    if (id !== undefined) headers["x-request-id"] = id;
    res.writeHead(e.status, headers);
    res.end(body);
  };

  /** Answers a generation request with an error, and records it in the ground truth. */
  const refuse = (
    res: ServerResponse,
    e: RequestError,
    id: string,
    receivedMs: number,
    promptTokens: number,
  ): void => {
    sendError(res, e, id);
    if (o.recordGroundTruth)
      record({
        id,
        receivedMs,
        tokenMs: [],
        endMs: performance.now(),
        promptTokens,
        completionTokens: 0,
        status: e.status,
      });
  };

  const generate = (req: IncomingMessage, res: ServerResponse, raw: string, chat: boolean): void => {
    const receivedMs = arrivals.get(req) ?? performance.now();
    requests++;
    const header = req.headers["x-request-id"];
    const id = typeof header === "string" && SAFE_ID.test(header) ? header : idPrefix + ++seq;
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
      refuse(
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
      refuse(res, bad("max_tokens", why), id, receivedMs, plan.promptTokens);
      return;
    }
    const created = Math.floor(Date.now() / 1000);
    const bodyId = (chat ? "chatcmpl-" : "cmpl-") + jsonInner(id);
    const pre = `data: {"id":"${bodyId}","object":"${chat ? "chat.completion.chunk" : "text_completion"}","created":${created},"model":${modelJson},"choices":`;
    new Generation(res, plan, id, pre, bodyId, created, n, receivedMs).start();
  };

  const tokenize = (res: ServerResponse, raw: string): void => {
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
  };

  const metrics = (): string =>
    "# HELP sim_requests_total Generation requests received.\n" +
    "# TYPE sim_requests_total counter\n" +
    `sim_requests_total ${requests}\n` +
    "# HELP sim_requests_running Generation requests in progress.\n" +
    "# TYPE sim_requests_running gauge\n" +
    `sim_requests_running ${running}\n` +
    "# HELP sim_ground_truth_records Ground-truth records kept.\n" +
    "# TYPE sim_ground_truth_records gauge\n" +
    `sim_ground_truth_records ${records.length}\n` +
    "# HELP sim_ground_truth_dropped_total Ground-truth records dropped past the limit.\n" +
    "# TYPE sim_ground_truth_dropped_total counter\n" +
    `sim_ground_truth_dropped_total ${truthDropped}\n` +
    (clock ? clock.metrics() : "");

  const models = (): string =>
    JSON.stringify({
      object: "list",
      data: [
        {
          id: o.model,
          object: "model",
          created: startedS,
          owned_by: "tokenforge-sim",
          max_model_len: o.maxModelLen,
        },
      ],
    });

  const arrivals = new WeakMap<IncomingMessage, number>();

  /** Reads a POST body, then hands it on; 413 past the limit. */
  const withBody = (req: IncomingMessage, res: ServerResponse, then: (raw: string) => void): void => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size <= o.maxBodyBytes) chunks.push(c);
    });
    req.on("end", () => {
      if (size > o.maxBodyBytes) {
        sendError(
          res,
          new RequestError(413, `body exceeds ${o.maxBodyBytes} bytes`, "body", "body_too_large"),
        );
        return;
      }
      then(chunks.length === 1 ? chunks[0]!.toString() : Buffer.concat(chunks).toString());
    });
  };

  const notFound = (res: ServerResponse, method: string, path: string): void =>
    sendError(res, new RequestError(404, `No route ${method} ${path}`, null, "not_found"));

  const server = createServer((req, res) => {
    // Arrival is when Node has parsed the request line and headers: the body of a benchmark
    // request comes in the same packet, and waiting for its 'end' event would add loop turns
    // that the client's measurement includes and the ground truth would not.
    arrivals.set(req, performance.now());
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    const method = req.method ?? "GET";
    if (method === "POST") {
      switch (path) {
        case "/v1/completions":
          withBody(req, res, (raw) => generate(req, res, raw, false));
          return;
        case "/v1/chat/completions":
          withBody(req, res, (raw) => generate(req, res, raw, true));
          return;
        case "/tokenize":
          withBody(req, res, (raw) => tokenize(res, raw));
          return;
      }
    } else if (method === "GET") {
      switch (path) {
        case "/health":
          sendJson(res, '{"status":"ok"}');
          return;
        case "/v1/models":
          sendJson(res, models());
          return;
        case "/metrics":
          res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
          res.end(metrics());
          return;
        case "/sim/ground-truth":
          res.setHeader("x-sim-ground-truth-dropped", String(truthDropped));
          sendJson(res, JSON.stringify(records));
          return;
      }
    } else if (method === "DELETE" && path === "/sim/ground-truth") {
      records = [];
      truthDropped = 0;
      res.writeHead(204);
      res.end();
      return;
    }
    notFound(res, method, path);
  });
  // Longer than any client's idle keep-alive, so the client always closes first (no reset races).
  server.keepAliveTimeout = 65_000;

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${address.port}`,
    get requests() {
      return requests;
    },
    get running() {
      return running;
    },
    groundTruth: () => records.slice(),
    clearGroundTruth: () => {
      records = [];
      truthDropped = 0;
    },
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        for (const g of [...active]) g.end(performance.now(), true);
        clock?.stop();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
