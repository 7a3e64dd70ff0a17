/**
 * A worker killed (SIGKILL) in the middle of a stream, through a listening gateway on real parts:
 * the client of `/v1/completions` and of `/infer` gets one error event in OpenAI's shape naming the
 * deployment, then `data: [DONE]`, then the end of the response (never a silent cut or a hang),
 * and the gateway's `/metrics` counts the request as `stream_error`, not 200.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";
import { readStream, sseData } from "../helpers/stream-read.js";
import { waitFor } from "../helpers/wait-for.js";

let t: TestGateway;
let base: string;

beforeAll(async () => {
  t = await startTestGateway({ name: "worker-crash" });
  base = await t.gateway.app.listen({ host: "127.0.0.1", port: 0 });
}, 60_000);

afterAll(async () => {
  await t?.close();
});

/** Deploys a sim worker slow enough (20 ms a token) that a long reply is still streaming when killed. */
async function deploySlowSim(model: string): Promise<string> {
  const res = await fetch(`${base}/deploy`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, runtime: "sim", engine_args: ["--itl-ms", "20"] }),
  });
  expect(res.status).toBe(202);
  const id = ((await res.json()) as { id: string }).id;
  let last = "";
  await waitFor(
    async () => {
      const d = (await (await fetch(`${base}/deployments/${id}`)).json()) as { status: string };
      last = JSON.stringify(d);
      if (d.status === "failed") throw new Error(`deployment failed: ${last}`);
      return d.status === "ready";
    },
    { what: `deployment ${id} to be ready`, timeoutMs: 60_000, intervalMs: 100, detail: () => last },
  );
  return id;
}

async function workerPid(id: string): Promise<number> {
  const pid = (await t.local.get(id))?.replicas[0]?.pid;
  if (pid === undefined) throw new Error(`deployment ${id} has no replica with a pid`);
  return pid;
}

/** Starts a stream, kills the worker once content has arrived, and reads the reply to its end. */
async function streamAndKill(path: string, body: object, pid: number) {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/event-stream");
  let killed = false;
  const read = await readStream(res, (text) => {
    if (!killed && text.includes('"text":" tok"')) {
      killed = true;
      process.kill(pid, "SIGKILL");
    }
  });
  expect(killed).toBe(true);
  return read;
}

function expectBrokenStream(read: { text: string; error?: string }, deployment: string) {
  // The response ended cleanly: no transport error, and the last event is [DONE].
  expect(read.error).toBeUndefined();
  const events = sseData(read.text);
  expect(events.at(-1)).toBe("[DONE]");
  const errors = events.filter((e) => e.startsWith('{"error"'));
  expect(errors).toHaveLength(1);
  const error = (JSON.parse(errors[0]!) as { error: Record<string, unknown> }).error;
  expect(error).toMatchObject({ type: "server_error", code: "bad_gateway", param: null });
  expect(error.message).toContain(`deployment ${deployment}`);
  expect(error.message).toContain("stream broke");
  // The error comes after content and right before [DONE]; no usage or finish was invented.
  expect(events.indexOf(errors[0]!)).toBe(events.length - 2);
  expect(events.filter((e) => e.includes('"text":" tok"')).length).toBeGreaterThan(0);
  expect(read.text).not.toContain('"finish_reason":"length"');
}

async function proxiedCount(model: string, status: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = new RegExp(
    `^tokenforge_gateway_proxied_requests_total\\{model="${model}",runtime="sim",status="${status}"\\} (\\d+)$`,
    "m",
  ).exec(text);
  return line ? Number(line[1]) : 0;
}

describe("a worker killed mid-stream", () => {
  it.each([
    { path: "/v1/completions", model: "crash-openai" },
    { path: "/infer", model: "crash-infer" },
  ])(
    "ends a $path stream with an error event and [DONE], counted as stream_error",
    async ({ path, model }) => {
      const id = await deploySlowSim(model);
      const read = await streamAndKill(
        path,
        { model, prompt: "a b c", max_tokens: 2000, stream: true },
        await workerPid(id),
      );
      expectBrokenStream(read, id);
      expect(await proxiedCount(model, "stream_error")).toBe(1);
      expect(await proxiedCount(model, "200")).toBe(0);
    },
  );

  it("still counts a stream that ends whole as 200", async () => {
    await deploySlowSim("crash-whole");
    const whole = await fetch(`${base}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "crash-whole", prompt: "x", max_tokens: 3, stream: true }),
    });
    const read = await readStream(whole);
    expect(read.error).toBeUndefined();
    const events = sseData(read.text);
    expect(events.at(-1)).toBe("[DONE]");
    expect(events.some((e) => e.startsWith('{"error"'))).toBe(false);
    expect(await proxiedCount("crash-whole", "200")).toBe(1);
    expect(await proxiedCount("crash-whole", "stream_error")).toBe(0);
  });
});
