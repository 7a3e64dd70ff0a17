/**
 * A STAND-IN for an OpenAI-compatible server nobody here wrote — not the server itself. TGI,
 * SGLang, Ollama and OpenAI's own API cannot run here (no GPU, no network), so each is imitated
 * by this small Fastify server set to the behaviour its documentation gives, in the respects a
 * benchmark depends on (docs/compatibility.md):
 *
 * - `tokenize`: which `POST /tokenize` dialect it answers (vLLM/SGLang `{model, prompt}` →
 *   `{count, tokens}`; llama.cpp `{content}` → `{tokens}`, and vLLM's shape → 200 with
 *   `{tokens: []}`, as llama-server answers a body without `content`; TGI `{inputs}` → a list of
 *   `{id, text, start, stop}`), or none (404);
 * - `ignoreEos`: honoured, ignored (accepted and without effect: generation stops a few tokens
 *   before `max_tokens`, where a model would emit its end token), or refused with OpenAI's 400
 *   "Unrecognized request argument supplied: ignore_eos";
 * - `completions: false`: a chat-only model, whose `/v1/completions` answers OpenAI's 404;
 * - usage: in every non-streamed reply, and in a stream only with
 *   `stream_options.include_usage` (a final chunk with `choices: []`);
 * - `checksModel`, `health`, `apiKey`: a 404 for another model, `GET /health`, a bearer key.
 *
 * Prompt tokens are the prompt's words (maximal runs of non-whitespace) plus `bos` for a
 * completion, plus `chatOverhead` for a chat request (its template). Output tokens are one word
 * per chunk, `itlMs` apart after `ttftMs`.
 */
import Fastify, { type FastifyReply, type FastifyRequest } from "fastify";
import { countWords } from "../../../src/runtimes/sim/server.js";

export interface StandInOptions {
  /** What it stands in for (messages and `owned_by`). */
  name: string;
  model: string;
  tokenize: "vllm" | "llama.cpp" | "tgi" | "none";
  ignoreEos: "honoured" | "ignored" | "refused";
  /** Serves /v1/completions for the model (false: a chat-only model). Default true. */
  completions?: boolean;
  /** A request naming another model gets 404. Default true. */
  checksModel?: boolean;
  /** Serves GET /health. Default true. */
  health?: boolean;
  /** Requests without `Authorization: Bearer <apiKey>` get 401. */
  apiKey?: string;
  /** Tokens added to a completion prompt (BOS). Default 1. */
  bos?: number;
  /** Tokens a chat template adds. Default 5. */
  chatOverhead?: number;
  ttftMs?: number;
  itlMs?: number;
}

export interface StandIn {
  url: string;
  /** Generations in progress. */
  readonly running: number;
  /** Generation requests received, refused ones included. */
  readonly requests: number;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
    readonly type = status === 401 ? "authentication_error" : "invalid_request_error",
  ) {
    super(message);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

export async function startStandIn(o: StandInOptions): Promise<StandIn> {
  const bos = o.bos ?? 1;
  const chatOverhead = o.chatOverhead ?? 5;
  const ttftMs = o.ttftMs ?? 5;
  const itlMs = o.itlMs ?? 1;
  let running = 0;
  let requests = 0;
  // Keep-alive sockets of the clients are cut on close, not waited out.
  const app = Fastify({ logger: false, forceCloseConnections: true });

  const send = (reply: FastifyReply, e: HttpError) =>
    reply.code(e.status).send({ error: { message: e.message, type: e.type, param: e.param, code: e.code } });
  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof HttpError) return send(reply, err);
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    return send(reply, new HttpError(status, (err as Error).message || String(err)));
  });
  app.setNotFoundHandler((req, reply) =>
    send(reply, new HttpError(404, `Invalid URL (${req.method} ${req.url})`, null, "not_found")),
  );
  app.addHook("onRequest", async (req) => {
    if (o.apiKey !== undefined && req.headers.authorization !== `Bearer ${o.apiKey}`)
      throw new HttpError(401, "Incorrect API key provided.", null, "invalid_api_key");
  });

  if (o.health ?? true) app.get("/health", async () => ({}));
  app.get("/v1/models", async () => ({
    object: "list",
    data: [{ id: o.model, object: "model", created: 0, owned_by: o.name }],
  }));

  const promptWords = (body: Record<string, unknown>, chat: boolean): number => {
    if (chat) {
      const messages = body.messages;
      if (!Array.isArray(messages) || messages.length === 0)
        throw new HttpError(400, "messages must be a non-empty list", "messages");
      return messages.reduce<number>((n, m) => {
        const c = isObject(m) ? m.content : undefined;
        return n + (typeof c === "string" ? countWords(c) : 0);
      }, 0);
    }
    if (typeof body.prompt !== "string" || body.prompt === "")
      throw new HttpError(400, "prompt must be a non-empty string", "prompt");
    return countWords(body.prompt);
  };

  if (o.tokenize !== "none") {
    app.post("/tokenize", async (req) => {
      const body = isObject(req.body) ? req.body : {};
      const ids = (n: number) => Array.from({ length: n }, (_, i) => 1000 + i);
      switch (o.tokenize) {
        case "vllm": {
          const chat = body.messages !== undefined;
          const n = promptWords(body, chat) + (chat ? chatOverhead : bos);
          return { count: n, max_model_len: 8192, tokens: ids(n) };
        }
        case "llama.cpp": {
          // llama-server reads `content` and nothing else: a body without it tokenizes "".
          const text = typeof body.content === "string" ? body.content : "";
          const n = text === "" ? 0 : countWords(text) + (body.add_special === true ? bos : 0);
          return { tokens: ids(n) };
        }
        case "tgi": {
          if (typeof body.inputs !== "string")
            throw new HttpError(422, "Failed to deserialize the JSON body: missing field `inputs`", "inputs");
          return ids(countWords(body.inputs) + bos).map((id, i) => ({
            id,
            text: " w",
            start: i,
            stop: i + 1,
          }));
        }
      }
    });
  }

  const generate = async (req: FastifyRequest, reply: FastifyReply, chat: boolean): Promise<unknown> => {
    requests++;
    if (!chat && o.completions === false)
      throw new HttpError(
        404,
        "This is a chat model and not supported in the v1/completions endpoint. Did you mean to use v1/chat/completions?",
        "model",
      );
    if (!isObject(req.body)) throw new HttpError(400, "the body must be a JSON object");
    const body = req.body;
    if (o.ignoreEos === "refused" && "ignore_eos" in body)
      throw new HttpError(400, "Unrecognized request argument supplied: ignore_eos");
    if ((o.checksModel ?? true) && body.model !== o.model)
      throw new HttpError(
        404,
        `The model \`${String(body.model)}\` does not exist`,
        "model",
        "model_not_found",
      );
    const maxRaw = body.max_tokens ?? body.max_completion_tokens ?? 16;
    if (typeof maxRaw !== "number" || !Number.isInteger(maxRaw) || maxRaw < 1)
      throw new HttpError(
        400,
        `Invalid type for 'max_tokens': expected an integer >= 1, got ${JSON.stringify(maxRaw)}`,
        "max_tokens",
      );
    const words = promptWords(body, chat);
    const promptTokens = words + (chat ? chatOverhead : bos);
    const honoured = o.ignoreEos === "honoured" && body.ignore_eos === true;
    // Where a model emits its end token: a few tokens before the limit (never past it).
    const n = honoured ? maxRaw : Math.max(1, maxRaw - 1 - (words % 3));
    const finish = n === maxRaw ? "length" : "stop";
    const usage = { prompt_tokens: promptTokens, completion_tokens: n, total_tokens: promptTokens + n };
    const id = `${chat ? "chatcmpl" : "cmpl"}-${requests}`;
    const head = { id, object: chat ? "chat.completion" : "text_completion", created: 0, model: o.model };
    const stream = body.stream === true;
    const includeUsage = isObject(body.stream_options) && body.stream_options.include_usage === true;

    running++;
    let done = false;
    const timers: NodeJS.Timeout[] = [];
    const end = () => {
      if (done) return;
      done = true;
      running--;
      for (const t of timers) clearTimeout(t);
    };
    reply.raw.on("close", end);
    if (!stream) {
      await new Promise((r) => timers.push(setTimeout(r, ttftMs + itlMs * (n - 1))));
      end();
      const text = " word".repeat(n);
      return reply.send({
        ...head,
        choices: [
          chat
            ? { index: 0, message: { role: "assistant", content: text }, finish_reason: finish }
            : { index: 0, text, finish_reason: finish },
        ],
        usage,
      });
    }
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    const chunkHead = { ...head, object: chat ? "chat.completion.chunk" : "text_completion" };
    const event = (data: unknown) => res.write(`data: ${JSON.stringify(data)}\n\n`);
    if (chat)
      event({ ...chunkHead, choices: [{ index: 0, delta: { role: "assistant" }, finish_reason: null }] });
    for (let i = 0; i < n; i++) {
      timers.push(
        setTimeout(
          () => {
            if (done) return;
            const last = i === n - 1;
            const reason = last ? finish : null;
            event({
              ...chunkHead,
              choices: [
                chat
                  ? { index: 0, delta: { content: " word" }, finish_reason: reason }
                  : { index: 0, text: " word", finish_reason: reason },
              ],
            });
            if (!last) return;
            if (includeUsage) event({ ...chunkHead, choices: [], usage });
            res.end("data: [DONE]\n\n");
            end();
          },
          ttftMs + itlMs * i,
        ),
      );
    }
    return undefined;
  };
  app.post("/v1/completions", (req, reply) => generate(req, reply, false));
  app.post("/v1/chat/completions", (req, reply) => generate(req, reply, true));

  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  return {
    url,
    get running() {
      return running;
    },
    get requests() {
      return requests;
    },
    close: () => app.close(),
  };
}
