/**
 * The Transformers worker (workers/transformers/): its Python files compile, the runtime launches
 * it as documented, and — wherever `python3 -c "import torch, transformers"` works — it speaks the
 * worker protocol on `synthetic:tiny` (random weights, byte tokenizer, no download).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TRANSFORMERS_WORKER_PATH, transformersRuntime } from "../../src/runtimes/transformers/index.js";
import { freeWorkerAddress, PYTHON, WORKER_DIR, workerPost } from "../helpers/transformers.js";
import { waitFor } from "../helpers/wait-for.js";

const ROOT = join(import.meta.dirname, "..", "..");

function probeTorch(): string | undefined {
  const r = spawnSync(PYTHON, ["-c", "import torch, transformers"], { encoding: "utf8" });
  if (r.error) return `${PYTHON} is not runnable: ${r.error.message}`;
  if (r.status !== 0)
    return `${PYTHON} -c "import torch, transformers" failed: ${r.stderr.trim().split("\n").at(-1)}`;
  return undefined;
}
const noTorch = probeTorch();
if (noTorch) console.warn(`skipping the live Transformers worker tests: ${noTorch}`);

describe("the transformers runtime", () => {
  it("has Python files that compile", () => {
    const files = readdirSync(WORKER_DIR).filter((f) => f.endsWith(".py"));
    expect(files).toContain("server.py");
    const r = spawnSync(
      PYTHON,
      ["-c", "import ast,sys\nfor f in sys.argv[1:]: ast.parse(open(f).read(), f)", ...files],
      {
        cwd: WORKER_DIR,
        encoding: "utf8",
      },
    );
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("resolves the worker script from this module's location", () => {
    expect(TRANSFORMERS_WORKER_PATH).toBe(join(ROOT, "workers", "transformers", "server.py"));
    expect(existsSync(TRANSFORMERS_WORKER_PATH)).toBe(true);
  });

  it("launches python3 server.py with the model, host, port and extra arguments", () => {
    const rt = transformersRuntime({ python: "/usr/bin/python3" });
    expect(rt.name).toBe("transformers");
    expect(rt.createEngine).toBeUndefined();
    const spec = rt.localProcess({
      model: "synthetic:tiny",
      port: 8123,
      host: "127.0.0.1",
      extraArgs: ["--dtype", "float32"],
    });
    expect(spec.command).toBe("/usr/bin/python3");
    expect(spec.args).toEqual([
      TRANSFORMERS_WORKER_PATH,
      "--model",
      "synthetic:tiny",
      "--host",
      "127.0.0.1",
      "--port",
      "8123",
      "--dtype",
      "float32",
    ]);
    expect(spec.env.PYTHONUNBUFFERED).toBe("1");
    expect(
      transformersRuntime({ workerPath: "/w/server.py" }).localProcess({
        model: "m",
        port: 1,
        host: "h",
        extraArgs: [],
      }).args[0],
    ).toBe("/w/server.py");
  });

  it("answers --help without torch", () => {
    const r = spawnSync(PYTHON, [TRANSFORMERS_WORKER_PATH, "--help"], { encoding: "utf8" });
    expect(r.status).toBe(0);
    for (const flag of ["--model", "--dtype", "--device", "--max-concurrency", "--tokenizer"]) {
      expect(r.stdout).toContain(flag);
    }
  });
});

interface Chunk {
  object: string;
  choices: { text?: string; delta?: { role?: string; content?: string }; finish_reason: string | null }[];
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

function parseSse(text: string): { events: Chunk[]; done: boolean } {
  const events: Chunk[] = [];
  let done = false;
  for (const block of text.split("\n\n")) {
    if (block === "") continue;
    expect(block.startsWith("data: ")).toBe(true);
    expect(done).toBe(false);
    const data = block.slice(6);
    if (data === "[DONE]") done = true;
    else events.push(JSON.parse(data) as Chunk);
  }
  return { events, done };
}

describe.skipIf(noTorch !== undefined)("the Transformers worker on synthetic:tiny", () => {
  let proc: ChildProcess;
  let url = "";
  let log = "";
  const statuses: number[] = [];

  const post = workerPost(() => url);

  beforeAll(async () => {
    const free = await freeWorkerAddress();
    url = free.url;
    const spec = transformersRuntime({ python: PYTHON }).localProcess({
      model: "synthetic:tiny",
      port: free.port,
      host: "127.0.0.1",
      extraArgs: ["--device", "cpu", "--dtype", "float32"],
    });
    proc = spawn(spec.command, spec.args, { env: { ...process.env, ...spec.env } });
    proc.stdout?.on("data", (d) => (log += d));
    proc.stderr?.on("data", (d) => (log += d));
    // Every answer is kept: the first ones must be 503 while the model loads.
    await waitFor(
      async () => {
        if (proc.exitCode !== null) throw new Error(`worker exited ${proc.exitCode}:\n${log}`);
        const res = await fetch(`${url}/health`).catch(() => undefined);
        if (!res) return false;
        statuses.push(res.status);
        await res.text();
        return res.status === 200;
      },
      { what: "the worker to answer /health 200", timeoutMs: 120_000, intervalMs: 50, detail: () => log },
    );
  }, 130_000);

  afterAll(() => {
    proc?.kill("SIGTERM");
  });

  it("reports 503 while loading, then 200 with the engine's details", async () => {
    expect(statuses[0]).toBe(503);
    expect(statuses.at(-1)).toBe(200);
    const body = (await (await fetch(`${url}/health`)).json()) as Record<string, unknown>;
    expect(body.status).toBe("ready");
    expect(String(body.engine)).toMatch(/^transformers \d/);
    expect(body.device).toBe("cpu");
    expect(body.dtype).toBe("float32");
    expect(body.model).toBe("synthetic:tiny");
    expect(typeof body.torch).toBe("string");
  });

  it("lists its model", async () => {
    const body = (await (await fetch(`${url}/v1/models`)).json()) as { data: { id: string }[] };
    expect(body.data.map((m) => m.id)).toEqual(["synthetic:tiny"]);
  });

  it("completes a prompt to exactly max_tokens with ignore_eos", async () => {
    const res = await post("/v1/completions", { prompt: "Hello", max_tokens: 12, ignore_eos: true });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Chunk;
    expect(body.object).toBe("text_completion");
    expect(body.choices[0]?.finish_reason).toBe("length");
    expect(typeof body.choices[0]?.text).toBe("string");
    // The byte tokenizer: 5 bytes plus BOS.
    expect(body.usage).toEqual({ prompt_tokens: 6, completion_tokens: 12, total_tokens: 18 });
  });

  it("streams a completion with a usage chunk and [DONE]", async () => {
    const res = await post("/v1/completions", {
      prompt: "Hello",
      max_tokens: 9,
      ignore_eos: true,
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const { events, done } = parseSse(await res.text());
    expect(done).toBe(true);
    const last = events.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage?.completion_tokens).toBe(9);
    expect(events.at(-2)?.choices[0]?.finish_reason).toBe("length");
    expect(events.slice(0, -2).every((e) => e.choices[0]?.finish_reason === null)).toBe(true);
  });

  it("chats, whole and streamed", async () => {
    const messages = [{ role: "user", content: "Hi there" }];
    const whole = (await (
      await post("/v1/chat/completions", { messages, max_tokens: 5, ignore_eos: true })
    ).json()) as {
      choices: { message: { role: string; content: string }; finish_reason: string }[];
      usage: { completion_tokens: number };
    };
    expect(whole.choices[0]?.message.role).toBe("assistant");
    expect(whole.usage.completion_tokens).toBe(5);
    const res = await post("/v1/chat/completions", {
      messages,
      max_completion_tokens: 4,
      ignore_eos: true,
      stream: true,
    });
    const { events, done } = parseSse(await res.text());
    expect(done).toBe(true);
    expect(events[0]?.object).toBe("chat.completion.chunk");
    expect(events[0]?.choices[0]?.delta?.role).toBe("assistant");
    expect(events.at(-1)?.choices[0]?.finish_reason).toBe("length");
  });

  it("tokenizes in vLLM's shape (and llama.cpp's)", async () => {
    const body = (await (await post("/tokenize", { prompt: "abc" })).json()) as {
      count: number;
      max_model_len: number;
      tokens: number[];
    };
    expect(body).toEqual({ count: 4, max_model_len: 2048, tokens: [256, 97, 98, 99] });
    const plain = (await (await post("/tokenize", { prompt: "abc", add_special_tokens: false })).json()) as {
      tokens: number[];
    };
    expect(plain.tokens).toEqual([97, 98, 99]);
    const chat = (await (await post("/tokenize", { messages: [{ role: "user", content: "x" }] })).json()) as {
      count: number;
    };
    expect(chat.count).toBeGreaterThan(1);
    const llama = (await (await post("/tokenize", { content: "ab" })).json()) as { tokens: number[] };
    expect(llama.tokens).toEqual([256, 97, 98]);
  });

  it("answers 4 concurrent requests", async () => {
    const replies = await Promise.all(
      [0, 1, 2, 3].map(async (i) => {
        const res = await post("/v1/completions", {
          prompt: `p${i}`,
          max_tokens: 6,
          ignore_eos: true,
          seed: i,
        });
        return (await res.json()) as Chunk;
      }),
    );
    for (const r of replies) expect(r.usage?.completion_tokens).toBe(6);
  });

  it("refuses bad input with 400 naming the field, and unknown models and routes with 404", async () => {
    for (const [body, param] of [
      [{ prompt: "x", max_tokens: 0 }, "max_tokens"],
      [{ prompt: "x", temperature: "hot" }, "temperature"],
      [{ prompt: 5 }, "prompt"],
      [{ prompt: "x", max_tokens: 5000 }, "max_tokens"],
    ] as const) {
      const res = await post("/v1/completions", body);
      expect(res.status).toBe(400);
      const err = (await res.json()) as { error: { param: string; type: string } };
      expect(err.error).toMatchObject({ param, type: "invalid_request_error" });
    }
    const chat = await post("/v1/chat/completions", { messages: [] });
    expect(chat.status).toBe(400);
    expect(((await chat.json()) as { error: { param: string } }).error.param).toBe("messages");
    const model = await post("/v1/completions", { model: "other", prompt: "x" });
    expect(model.status).toBe(404);
    await model.text();
    const route = await fetch(`${url}/nope`);
    expect(route.status).toBe(404);
    await route.text();
  });

  it("exposes the tokenforge: series on /metrics", async () => {
    const text = await (await fetch(`${url}/metrics`)).text();
    for (const series of [
      "tokenforge:num_requests_running",
      "tokenforge:num_requests_waiting",
      "tokenforge:prompt_tokens_total",
      "tokenforge:generation_tokens_total",
      "tokenforge:time_to_first_token_seconds_bucket",
      "tokenforge:inter_token_latency_seconds_bucket",
      "tokenforge:e2e_request_latency_seconds_count",
    ]) {
      expect(text).toContain(series);
    }
    expect(text).toMatch(/tokenforge:request_success_total\{[^}]*finished_reason="length"\} \d+/);
  });
});
