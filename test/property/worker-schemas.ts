/**
 * The worker's request schemas as generators of bodies (test/property/inputs.ts), and the
 * property every route must hold: an answer within the time limit, never a 5xx, and a refused
 * request leaves the engine as it was (no token generated, nothing running or waiting). Shared by
 * the property test and bench/fuzz.ts.
 */
import fc from "fast-check";
import { request } from "undici";
import { type BodyInput, bodies, describeInput, within } from "./inputs.js";

const sampling = (model: string) => ({
  model: fc.constant(model),
  max_tokens: fc.integer({ min: 1, max: 4 }),
  temperature: fc.double({ min: 0, max: 2, noNaN: true }),
  top_p: fc.double({ min: 0.01, max: 1, noNaN: true }),
  seed: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  stop: fc.oneof(
    fc.string({ minLength: 1, maxLength: 8 }),
    fc.array(fc.string({ minLength: 1, maxLength: 4 }), { maxLength: 3 }),
  ),
  stream: fc.boolean(),
  stream_options: fc.record({ include_usage: fc.boolean() }, { requiredKeys: [] }),
  ignore_eos: fc.boolean(),
  user: fc.string({ maxLength: 16 }),
});
const optional = [
  "model",
  "temperature",
  "top_p",
  "seed",
  "stop",
  "stream",
  "stream_options",
  "ignore_eos",
  "user",
];

const text = () => fc.string({ minLength: 1, maxLength: 40 });
const message = () =>
  fc.record({
    role: fc.constantFrom("system", "user", "assistant", "developer"),
    content: fc.oneof(
      text(),
      fc.array(fc.record({ type: fc.constant("text"), text: text() }), { minLength: 1, maxLength: 2 }),
    ),
  });

export interface WorkerRoute {
  path: string;
  inputs: fc.Arbitrary<BodyInput>;
}

/** Every POST route of the worker with its body generator; `model` is the model it serves. */
export function workerRoutes(model: string): WorkerRoute[] {
  const completion = fc.record(
    {
      ...sampling(model),
      prompt: fc.oneof(
        text(),
        fc.array(text(), { minLength: 1, maxLength: 1 }),
        fc.array(fc.nat({ max: 200 }), { minLength: 1, maxLength: 8 }),
      ),
    },
    { requiredKeys: ["prompt", "max_tokens"] },
  );
  const chat = fc.record(
    { ...sampling(model), messages: fc.array(message(), { minLength: 1, maxLength: 3 }) },
    { requiredKeys: ["messages", "max_tokens"] },
  );
  const tokenize = fc.oneof(
    fc.record(
      { model: fc.constant(model), prompt: text(), add_special_tokens: fc.boolean() },
      { requiredKeys: ["prompt"] },
    ),
    fc.record(
      {
        model: fc.constant(model),
        messages: fc.array(message(), { minLength: 1, maxLength: 3 }),
        add_generation_prompt: fc.boolean(),
      },
      { requiredKeys: ["messages"] },
    ),
    fc.record({ content: text() }),
  );
  return [
    {
      path: "/v1/completions",
      inputs: bodies(completion, ["prompt", "max_tokens", ...optional, "echo", "n"]),
    },
    {
      path: "/v1/chat/completions",
      inputs: bodies(chat, ["messages", "max_tokens", "max_completion_tokens", ...optional]),
    },
    {
      path: "/tokenize",
      inputs: bodies(tokenize, ["prompt", "messages", "content", "model", "add_special_tokens"]),
    },
  ];
}

/** What a refused request must not change: tokens generated, requests finished, running and waiting. */
async function engineState(url: string) {
  const metrics = await (await request(`${url}/metrics`)).body.text();
  const sum = (name: string) =>
    [...metrics.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, "gm"))].reduce(
      (s, m) => s + Number(m[1]),
      0,
    );
  const health = (await (await request(`${url}/health`)).body.json()) as {
    running?: number;
    waiting?: number;
  };
  return {
    tokens: sum("tokenforge:generation_tokens_total"),
    finished: sum("tokenforge:request_success_total"),
    running: health.running,
    waiting: health.waiting,
  };
}

export interface Outcome {
  status: number;
}

/**
 * Sends one input to the worker at `url` (over a socket: a streamed reply is read as a client
 * reads it) and checks the property; throws with the input and the answer when it fails.
 * `checkState` compares the engine before and after a refused request.
 */
export async function checkWorkerInput(
  url: string,
  route: WorkerRoute,
  input: BodyInput,
  o: { timeoutMs: number; checkState: boolean },
): Promise<Outcome> {
  const before = o.checkState ? await engineState(url) : undefined;
  const res = await within(
    o.timeoutMs,
    `${route.path} ${describeInput(input)}`,
    (async () => {
      const r = await request(`${url}${route.path}`, {
        method: "POST",
        body: input.payload,
        headers: { "content-type": input.contentType },
      });
      const body = await r.body.text();
      return { statusCode: r.statusCode, body, json: () => JSON.parse(body) as unknown };
    })(),
  );
  const fail = (why: string) => {
    throw new Error(
      `${route.path}: ${why}\n  input: ${describeInput(input)}\n  answer: ${res.statusCode} ${res.body.slice(0, 500)}`,
    );
  };
  if (res.statusCode >= 500) fail("a 5xx for bad input");
  if (res.statusCode >= 400) {
    let body: { error?: { message?: unknown } } | undefined;
    try {
      body = res.json() as typeof body;
    } catch {
      fail("a refusal without a JSON error body");
    }
    if (typeof body?.error?.message !== "string") fail("a refusal without error.message");
    if (res.body.length > 20_000) fail(`an error body of ${res.body.length} characters`);
    if (before) {
      const after = await engineState(url);
      if (JSON.stringify(after) !== JSON.stringify(before))
        fail(`a refused request changed the engine: ${JSON.stringify(before)} → ${JSON.stringify(after)}`);
    }
  }
  return { status: res.statusCode };
}
