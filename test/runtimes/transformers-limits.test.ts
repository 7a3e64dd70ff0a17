/**
 * The Transformers worker's limits, checked where torch is not installed: its HTTP layer
 * (workers/transformers/server.py) runs as it is, in front of a STAND-IN MODEL written here in
 * Python (bytes as tokens, a fixed delay per token) in place of the PyTorch one. What is checked
 * is the HTTP layer's: 429 with Retry-After past --max-waiting before the body is read or
 * tokenized, 413 past --max-prompt-bytes before tokenizing, the chat default max_tokens, and
 * the refusals in /metrics.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freeWorkerAddress, PYTHON, WORKER_DIR, workerPost } from "../helpers/transformers.js";
import { waitFor } from "../helpers/wait-for.js";

const noPython = spawnSync(PYTHON, ["--version"]).status === 0 ? undefined : `${PYTHON} not found`;

/** The stand-in model: counts encode calls (the tokenizer), 20 ms per generated token. */
const STAND_IN = `
import sys, time
sys.path.insert(0, ${JSON.stringify(WORKER_DIR)})
import server

class StandIn:
    engine, torch_version, device, device_name, dtype_name, threads = "stand-in", "none", "cpu", "cpu", "none", 1
    max_model_len, vocab_size, eos_ids, load_seconds = 256, 256, [0], 0.0
    encoded = 0
    def memory(self): return {}
    def encode(self, text, add_special_tokens=True):
        StandIn.encoded += 1
        return [b or 1 for b in text.encode("utf-8")] or [1]
    def encode_chat(self, messages, add_generation_prompt=True):
        return self.encode("".join(m["content"] for m in messages))
    def decode(self, ids): return bytes(i for i in ids if i < 128).decode("ascii")
    def start(self, ids, seed): return None
    def step(self, state, temperature, top_p, ban):
        time.sleep(0.02)
        return 97

model = StandIn()
server.serve(server.parse_args(sys.argv[1:]), lambda args: model)
`;

describe.skipIf(noPython !== undefined)("the Transformers worker's limits (stand-in model)", () => {
  let proc: ChildProcess;
  let url = "";
  const post = workerPost(() => url);
  const refused = async (reason: string) => {
    const text = await (await fetch(`${url}/metrics`)).text();
    const m = text.match(
      new RegExp(`^tokenforge:requests_refused_total\\{[^}]*reason="${reason}"\\} (\\d+)`, "m"),
    );
    return m ? Number(m[1]) : 0;
  };

  beforeAll(async () => {
    const free = await freeWorkerAddress();
    url = free.url;
    proc = spawn(
      PYTHON,
      [
        "-c",
        STAND_IN,
        "--model",
        "stand-in",
        "--port",
        String(free.port),
        "--max-waiting",
        "1",
        "--max-prompt-bytes",
        "100",
        "--default-max-tokens",
        "5",
      ],
      { stdio: ["ignore", "ignore", "inherit"] },
    );
    await waitFor(
      async () => {
        try {
          return (await fetch(`${url}/health`)).status === 200;
        } catch {
          return false;
        }
      },
      { what: "the Transformers worker (stand-in model) to be ready", timeoutMs: 30_000 },
    );
  }, 40_000);
  afterAll(() => {
    proc?.kill("SIGTERM");
  });

  it("shows its limits in /health", async () => {
    const h = (await (await fetch(`${url}/health`)).json()) as { limits: unknown };
    expect(h.limits).toEqual({
      max_num_seqs: 1,
      max_waiting: 1,
      max_queue_ms: null,
      max_prompt_bytes: 100,
      default_max_tokens: { chat: 5, completions: 16 },
    });
  });

  it("gives chat its default max_tokens and refuses a prompt past --max-prompt-bytes with 413", async () => {
    const chat = await post("/v1/chat/completions", {
      messages: [{ role: "user", content: "hi" }],
      ignore_eos: true,
    });
    expect(chat.status).toBe(200);
    expect(((await chat.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens).toBe(5);
    const big = await post("/v1/completions", { prompt: "é".repeat(51), max_tokens: 2 });
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: { code: string; param: string } }).error).toMatchObject({
      code: "payload_too_large",
      param: "prompt",
    });
    expect((await post("/tokenize", { prompt: "x".repeat(101) })).status).toBe(413);
    expect(await refused("prompt_too_large")).toBe(1);
  });

  it("refuses past one running and one waiting with 429 before reading the body", async () => {
    const long = { prompt: "go", max_tokens: 100, ignore_eos: true };
    const first = post("/v1/completions", long);
    const second = post("/v1/completions", long);
    await waitFor(
      async () => {
        const h = (await (await fetch(`${url}/health`)).json()) as { running: number; waiting: number };
        return h.running === 1 && h.waiting === 1;
      },
      { what: "one running and one waiting" },
    );
    // Not JSON at all: refused with 429 all the same, since the body is never read.
    const third = await post("/v1/completions", "{not json");
    expect(third.status).toBe(429);
    expect(third.headers.get("retry-after")).toBe("1");
    expect(((await third.json()) as { error: { code: string } }).error.code).toBe("over_capacity");
    expect(await refused("queue_full")).toBe(1);
    expect((await first).status).toBe(200);
    expect((await second).status).toBe(200);
  }, 30_000);
});
