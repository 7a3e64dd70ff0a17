/**
 * The worker proxy against a stand-in worker (node:http) that breaks its answers on purpose, with
 * real sockets on both sides: an event stream that stops without `data: [DONE]`, one cut in the
 * middle of an event, one dropped just after `[DONE]`, a JSON body cut short, and a client that
 * leaves before or during the answer (the worker's request must be aborted). Each is counted
 * under its status.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Deployments } from "../../src/gateway/deployments.js";
import { GatewayMetrics } from "../../src/gateway/metrics.js";
import { SseTail, WorkerProxy } from "../../src/gateway/proxy.js";
import { RuntimeRegistry } from "../../src/runtimes/registry.js";
import type { Store } from "../../src/spec/store.js";
import { openStore } from "../../src/store/db/open.js";
import { readStream, sseData } from "../helpers/stream-read.js";
import { waitFor } from "../helpers/wait-for.js";

const EVENT = 'data: {"choices":[{"index":0,"text":" tok","finish_reason":null}]}\n\n';

let worker: Server;
let app: FastifyInstance;
let store: Store;
let proxy: WorkerProxy;
let metrics: GatewayMetrics;
let base: string;
/** Requests the stand-in worker received, and those whose connection has closed, by path. */
const received = new Set<string>();
const closed = new Set<string>();

/** Writes `text`, then destroys the socket once it is flushed: a worker that died. */
function writeThenDie(res: ServerResponse, text: string): void {
  res.write(text, () => res.socket?.destroy());
}

function behave(req: IncomingMessage, res: ServerResponse): void {
  const sse = { "content-type": "text/event-stream", "cache-control": "no-cache" };
  received.add(req.url ?? "");
  res.on("close", () => closed.add(req.url ?? ""));
  switch (req.url) {
    case "/silent":
      return;
    case "/no-done":
      res.writeHead(200, sse);
      res.end(EVENT);
      return;
    case "/cut-mid-event":
      res.writeHead(200, sse);
      writeThenDie(res, `${EVENT}data: {"choices":[{"ind`);
      return;
    case "/done-then-drop":
      res.writeHead(200, sse);
      writeThenDie(res, `${EVENT}data: [DONE]\n\n`);
      return;
    case "/json-cut":
      res.writeHead(200, { "content-type": "application/json" });
      writeThenDie(res, '{"choices":[{"text":" tok tok');
      return;
    case "/endless": {
      res.writeHead(200, sse);
      const timer = setInterval(() => res.write(EVENT), 20);
      res.on("close", () => clearInterval(timer));
      return;
    }
    default:
      res.writeHead(200, sse);
      res.end(`${EVENT}data: [DONE]\n\n`);
  }
}

beforeAll(async () => {
  worker = createServer((req, res) => {
    req.resume();
    req.on("end", () => behave(req, res));
  });
  await new Promise<void>((resolve) => worker.listen(0, "127.0.0.1", resolve));
  const endpoint = `http://127.0.0.1:${(worker.address() as AddressInfo).port}`;
  store = await openStore({ dataDir: "memory://" });
  metrics = new GatewayMetrics(new Deployments(store, {}, new RuntimeRegistry([])));
  proxy = new WorkerProxy(metrics);
  // fetch may open a spare connection after an abort; closing must not wait for it to time out.
  app = Fastify({ forceCloseConnections: true });
  app.post<{ Params: { path: string } }>("/to/:path", async (req, reply) => {
    await proxy.forward(reply, { endpoint, deployment: "dep-test" }, `/${req.params.path}`, req.body, {
      model: req.params.path,
      runtime: "stand-in",
    });
  });
  base = await app.listen({ host: "127.0.0.1", port: 0 });
});

afterAll(async () => {
  await app?.close();
  await proxy?.close();
  worker?.closeAllConnections();
  await new Promise((resolve) => worker?.close(resolve));
  await store?.close();
});

const post = (path: string, init: RequestInit = {}) =>
  fetch(`${base}/to/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ stream: true }),
    ...init,
  });

async function counted(model: string): Promise<Record<string, number>> {
  const json = await metrics.proxied.get();
  const out: Record<string, number> = {};
  for (const v of json.values) if (v.labels.model === model) out[String(v.labels.status)] = v.value;
  return out;
}

function errorEvents(text: string): { message: string; code: string; type: string }[] {
  return sseData(text)
    .filter((d) => d.startsWith('{"error"'))
    .map((d) => (JSON.parse(d) as { error: { message: string; code: string; type: string } }).error);
}

describe("the worker proxy when an answer breaks", () => {
  it("passes a whole stream through unchanged and counts it as 200", async () => {
    const read = await readStream(await post("whole"));
    expect(read).toEqual({ text: `${EVENT}data: [DONE]\n\n` });
    expect(await counted("whole")).toEqual({ "200": 1 });
  });

  it("ends a stream that stopped without [DONE] with an error event, then [DONE]", async () => {
    const read = await readStream(await post("no-done"));
    expect(read.error).toBeUndefined();
    expect(read.text.startsWith(EVENT)).toBe(true);
    expect(sseData(read.text).at(-1)).toBe("[DONE]");
    const [error, ...more] = errorEvents(read.text);
    expect(more).toHaveLength(0);
    expect(error).toMatchObject({ code: "bad_gateway", type: "server_error" });
    expect(error!.message).toContain("deployment dep-test at 127.0.0.1:");
    expect(error!.message).toContain("ended before data: [DONE]");
    expect(await counted("no-done")).toEqual({ stream_error: 1 });
  });

  it("starts the error event on a line of its own when the worker died mid-event", async () => {
    const read = await readStream(await post("cut-mid-event"));
    expect(read.error).toBeUndefined();
    expect(read.text).toContain('data: {"choices":[{"ind\n\ndata: {"error":');
    expect(errorEvents(read.text)).toHaveLength(1);
    expect(sseData(read.text).at(-1)).toBe("[DONE]");
    expect(await counted("cut-mid-event")).toEqual({ stream_error: 1 });
  });

  it("adds nothing after a complete [DONE], even if the connection then drops", async () => {
    const read = await readStream(await post("done-then-drop"));
    expect(read).toEqual({ text: `${EVENT}data: [DONE]\n\n` });
    expect(await counted("done-then-drop")).toEqual({ "200": 1 });
  });

  it("cuts a JSON body short instead of ending it as a success", async () => {
    const res = await post("json-cut", { body: JSON.stringify({}) });
    expect(res.status).toBe(200);
    const read = await readStream(res);
    expect(read.error).toBeDefined();
    expect(read.text).toBe('{"choices":[{"text":" tok tok');
    expect(await counted("json-cut")).toEqual({ stream_error: 1 });
  });

  it("aborts the worker's request when the client leaves, counted as client_closed", async () => {
    const leave = new AbortController();
    const res = await post("endless", { signal: leave.signal });
    const read = await readStream(res, (text) => {
      if (text.includes(EVENT)) leave.abort();
    });
    expect(read.error).toBeDefined();
    await waitFor(() => closed.has("/endless"), { what: "the worker's request to be closed" });
    await waitFor(async () => (await counted("endless")).client_closed === 1, {
      what: "the request to be counted as client_closed",
      detail: () => JSON.stringify(metrics.proxied),
    });
    expect(await counted("endless")).toEqual({ client_closed: 1 });
  });

  it("aborts the worker's request when the client leaves before the worker answered", async () => {
    const leave = new AbortController();
    const answer = post("silent", { signal: leave.signal }).catch((err: Error) => err);
    await waitFor(() => received.has("/silent"), { what: "the worker to receive the request" });
    expect(closed.has("/silent")).toBe(false);
    leave.abort();
    expect(await answer).toBeInstanceOf(Error);
    await waitFor(() => closed.has("/silent"), { what: "the worker's request to be closed" });
    await waitFor(async () => (await counted("silent")).client_closed === 1, {
      what: "the request to be counted as client_closed",
    });
    expect(await counted("silent")).toEqual({ client_closed: 1 });
  });
});

describe("SseTail", () => {
  const tail = (...chunks: string[]) => {
    const t = new SseTail();
    for (const c of chunks) t.push(Buffer.from(c));
    return t;
  };

  it("sees a last [DONE] across chunk boundaries and line endings", () => {
    expect(tail(EVENT, "data: [DONE]\n\n").done).toBe(true);
    expect(tail(EVENT, "data: [DO", "NE]\n\n").done).toBe(true);
    expect(tail("data:[DONE]\r\n\r\n").done).toBe(true);
    expect(tail(`${EVENT}data: [DONE]\n`).done).toBe(true);
    expect(tail(`${"x".repeat(100)}\n\ndata: [DONE]\n\n`).done).toBe(true);
  });

  it("does not take an unfinished or embedded [DONE] for the end", () => {
    expect(tail().done).toBe(false);
    expect(tail(EVENT).done).toBe(false);
    expect(tail(EVENT, "data: [DONE]").done).toBe(false);
    expect(tail('data: {"text":"data: [DONE]"}\n\n').done).toBe(false);
    expect(tail("data: [DONE]\n\n", EVENT).done).toBe(false);
  });

  it("says which line ends a new event needs first", () => {
    expect(tail().separator()).toBe("");
    expect(tail(EVENT).separator()).toBe("");
    expect(tail("data: {}\r\n\r\n").separator()).toBe("");
    expect(tail("data: {}\n").separator()).toBe("\n");
    expect(tail("data: {").separator()).toBe("\n\n");
  });
});
