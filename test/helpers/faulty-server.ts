/**
 * A faulty OpenAI-compatible server for the harness's tests: a small node:http server whose
 * generation replies break in a chosen way per request (by its 1-based count): a chunk that is
 * not JSON, a stream cut off (socket destroyed) or ended without `[DONE]`, an HTTP error in
 * OpenAI's shape, one huge SSE line, a stall, an oversized non-streamed body, a reply held back
 * before its first byte (as a queued request's is). Correct replies
 * carry `max_tokens` content chunks, usage and `[DONE]` (completions and chat shapes), or one JSON
 * body when not streamed. `/health` and `/v1/models` answer; `/tokenize` is 404, so the harness
 * falls back to the server's usage for token counts.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type Fault =
  | { kind: "ok" }
  /** Chunk `atChunk` (1-based among data events) is `{"choices":[{"text":" b"}` — cut JSON. */
  | { kind: "invalid-json"; atChunk: number }
  /** After `afterChunks` content chunks the socket is destroyed mid-reply. */
  | { kind: "cut"; afterChunks: number }
  /** After `afterChunks` content chunks the reply ends cleanly, without `[DONE]`. */
  | { kind: "no-done"; afterChunks: number }
  | { kind: "status"; status: number; message: string }
  /** One content chunk whose line is `bytes` long, written in `pieceBytes` pieces, then the rest. */
  | { kind: "huge-line"; bytes: number; pieceBytes: number }
  /** After `afterChunks` content chunks nothing more is written, and the socket stays open. */
  | { kind: "stall"; afterChunks: number }
  /** A non-streamed reply whose JSON body is `bytes` long. */
  | { kind: "big-body"; bytes: number }
  /** A correct reply whose first byte (its headers) waits `ms`. */
  | { kind: "delay"; ms: number };

export interface FaultyServerOptions {
  /** The fault of the n-th generation request (1-based); default every request is answered well. */
  fault?: (n: number) => Fault;
  /** The model served; a request naming another gets a 404 in OpenAI's shape. Default "faulty". */
  model?: string;
  /** Wait between streamed content chunks, ms. Default 0. */
  itlMs?: number;
}

export interface FaultyServer {
  url: string;
  /** Generation requests received, in order: their `x-request-id` and the fault they got. */
  received: { id: string; fault: Fault }[];
  close(): Promise<void>;
}

export async function startFaultyServer(o: FaultyServerOptions = {}): Promise<FaultyServer> {
  const model = o.model ?? "faulty";
  const received: FaultyServer["received"] = [];
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method === "GET" && path === "/health") return json(res, 200, { status: "ok" });
    if (req.method === "GET" && path === "/v1/models")
      return json(res, 200, { object: "list", data: [{ id: model, object: "model" }] });
    const chat = path === "/v1/chat/completions";
    if (req.method !== "POST" || (path !== "/v1/completions" && !chat)) {
      return json(res, 404, openAiError(`No route ${req.method} ${path}`, "not_found"));
    }
    readBody(req).then((text) => {
      const body = JSON.parse(text) as { model?: string; max_tokens?: number; stream?: boolean };
      const fault = o.fault?.(received.length + 1) ?? { kind: "ok" };
      received.push({ id: String(req.headers["x-request-id"] ?? ""), fault });
      if (body.model !== model) {
        return json(res, 404, openAiError(`The model \`${body.model}\` does not exist.`, "model_not_found"));
      }
      if (fault.kind === "status") return json(res, fault.status, openAiError(fault.message, "failure"));
      const tokens = body.max_tokens ?? 4;
      const reply = () => {
        if (body.stream) void stream(res, chat, tokens, fault, o.itlMs ?? 0);
        else whole(res, chat, tokens, fault);
      };
      if (fault.kind === "delay") setTimeout(reply, fault.ms);
      else reply();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function openAiError(message: string, code: string) {
  return { error: { message, type: "invalid_request_error", param: null, code } };
}

const chunk = (chat: boolean, text: string) =>
  JSON.stringify(
    chat
      ? { object: "chat.completion.chunk", choices: [{ index: 0, delta: { content: text } }] }
      : { object: "text_completion", choices: [{ index: 0, text }] },
  );

/** Writes and waits for the socket to take it, so large replies keep their pieces. */
function write(res: ServerResponse, data: string | Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (res.destroyed) return resolve();
    if (res.write(data)) return resolve();
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

/** Content chunks written before a cut, an early end or a stall; undefined for other faults. */
function cutoff(fault: Fault): number | undefined {
  return fault.kind === "cut" || fault.kind === "no-done" || fault.kind === "stall"
    ? fault.afterChunks
    : undefined;
}

async function stream(
  res: ServerResponse,
  chat: boolean,
  tokens: number,
  fault: Fault,
  itlMs: number,
): Promise<void> {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  res.flushHeaders();
  let event = 0;
  for (let k = 0; k < tokens; k++) {
    if (cutoff(fault) === k) {
      if (fault.kind === "cut") res.socket?.destroy();
      else if (fault.kind === "no-done") res.end();
      return;
    }
    if (k > 0 && itlMs > 0) await new Promise((r) => setTimeout(r, itlMs));
    if (res.destroyed) return;
    event++;
    if (fault.kind === "invalid-json" && event === fault.atChunk) {
      await write(res, 'data: {"choices":[{"text":" b"}\n\n');
      continue;
    }
    if (fault.kind === "huge-line" && k === 0) {
      const head = chat
        ? 'data: {"choices":[{"index":0,"delta":{"content":"'
        : 'data: {"choices":[{"index":0,"text":"';
      await write(res, head);
      const piece = Buffer.alloc(fault.pieceBytes, 0x78);
      for (let sent = head.length; sent < fault.bytes && !res.destroyed; sent += piece.length) {
        await write(res, piece);
      }
      await write(res, chat ? '"}}]}\n\n' : '"}]}\n\n');
      continue;
    }
    await write(res, `data: ${chunk(chat, ` t${k}`)}\n\n`);
  }
  const usage = { prompt_tokens: 8, completion_tokens: tokens, total_tokens: 8 + tokens };
  await write(res, `data: ${JSON.stringify({ choices: [], usage })}\n\n`);
  res.end("data: [DONE]\n\n");
}

function whole(res: ServerResponse, chat: boolean, tokens: number, fault: Fault): void {
  if (fault.kind === "stall") return;
  const text = fault.kind === "big-body" ? "x".repeat(fault.bytes) : " t".repeat(tokens);
  const choice = chat
    ? { index: 0, message: { role: "assistant", content: text }, finish_reason: "length" }
    : { index: 0, text, finish_reason: "length" };
  json(res, 200, {
    object: chat ? "chat.completion" : "text_completion",
    choices: [choice],
    usage: { prompt_tokens: 8, completion_tokens: tokens, total_tokens: 8 + tokens },
  });
}
