/**
 * The gateway's request schemas as generators (test/property/inputs.ts): the bodies of
 * POST /deploy, /infer, /v1/completions, /v1/chat/completions, /benchmarks/run and /ui/config,
 * and the path parameters and query strings of the routes that read them; and the property every
 * route must hold: an answer within the time limit, never a 5xx, and a refused request changes
 * no state (deployments, runs, worker processes counted before and after). What a valid request
 * created (a deployment, a run) is removed before the next input. Shared by the property test
 * and bench/fuzz.ts.
 */
import fc from "fast-check";
import type { TestGateway } from "../helpers/gateway.js";
import { anyString, type BodyInput, bodies, describeInput, within } from "./inputs.js";

/** The model of the standing sim deployment that valid inference requests reach. */
export const SIM_MODEL = "sim-model";

const text = () => fc.string({ minLength: 1, maxLength: 40 });

export interface GatewayRoute {
  method: "POST" | "GET" | "DELETE";
  /** A fixed path, or one built from a generated segment. */
  path: string;
  inputs: fc.Arbitrary<BodyInput & { url?: string }>;
}

const queries = (path: string, keys: readonly string[]) =>
  fc
    .array(
      fc.tuple(
        fc.oneof(fc.constantFrom(...keys), anyString()),
        fc.oneof(anyString(), fc.constantFrom("complete", "sim", "1")),
      ),
      {
        maxLength: 3,
      },
    )
    .map((pairs) => ({
      url: `${path}?${new URLSearchParams(pairs).toString()}`,
      payload: "",
      contentType: "application/json",
      kind: "mutated" as const,
    }));

/** Lone surrogates replaced: a URL cannot carry them (the byte sequences URLs can carry are tried as escapes). */
const wellFormed = (s: string) =>
  s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD");

const segments = (build: (id: string) => string) =>
  fc
    .oneof(
      anyString().map((id) => encodeURIComponent(wellFormed(id.slice(0, 4000)))),
      // Sent as they are: escapes that decode to nothing valid, traversal, a slash.
      fc.constantFrom("run-x", "dep-1", "..", "%2e%2e", "a%2Fb", "%E0%A4%A", "%00", "%", "%%"),
    )
    .map((id) => ({
      url: build(id),
      payload: "",
      contentType: "application/json",
      kind: "mutated" as const,
    }));

export function gatewayRoutes(): GatewayRoute[] {
  const deploy = fc.record(
    {
      model: fc.constantFrom("echo-model", "synthetic:tiny"),
      runtime: fc.constant("echo"),
      replicas: fc.integer({ min: 1, max: 2 }),
      target: fc.constant("local"),
      engine_args: fc.constant([] as string[]),
      resources: fc.record({ cpu: fc.constantFrom("1", "500m") }, { requiredKeys: [] }),
    },
    { requiredKeys: ["model", "runtime"] },
  );
  const infer = fc.record(
    {
      model: fc.constant(SIM_MODEL),
      prompt: text(),
      max_tokens: fc.integer({ min: 1, max: 4 }),
      temperature: fc.double({ min: 0, max: 2, noNaN: true }),
      stream: fc.boolean(),
    },
    { requiredKeys: ["model", "prompt", "max_tokens"] },
  );
  const completion = fc.record(
    {
      model: fc.constant(SIM_MODEL),
      prompt: text(),
      max_tokens: fc.integer({ min: 1, max: 4 }),
      stream: fc.boolean(),
    },
    { requiredKeys: ["model", "prompt", "max_tokens"] },
  );
  const chat = fc.record(
    {
      model: fc.constant(SIM_MODEL),
      messages: fc.array(fc.record({ role: fc.constantFrom("user", "system"), content: text() }), {
        minLength: 1,
        maxLength: 2,
      }),
      max_tokens: fc.integer({ min: 1, max: 4 }),
    },
    { requiredKeys: ["model", "messages", "max_tokens"] },
  );
  const run = fc.record({
    model: fc.constant(SIM_MODEL),
    runtimes: fc.constant(["sim"]),
    workloads: fc.constant([{ name: "w", concurrency: 1, num_requests: 2, prompt_len: 4, gen_tokens: 2 }]),
  });
  const uiConfig = fc
    .oneof(anyString(), fc.constantFrom("model: m\nruntimes: [sim]\n", "a: &a [1]\nb: *a\n", "b: *nowhere\n"))
    .map((payload) => ({ payload, contentType: "text/plain", kind: "mutated" as const }));
  return [
    {
      method: "POST",
      path: "/deploy",
      inputs: bodies(deploy, ["model", "runtime", "quant", "replicas", "resources", "target", "engine_args"]),
    },
    {
      method: "POST",
      path: "/infer",
      inputs: bodies(infer, ["model", "runtime", "prompt", "max_tokens", "temperature", "top_p", "stream"]),
    },
    {
      method: "POST",
      path: "/v1/completions",
      inputs: bodies(completion, ["model", "prompt", "max_tokens", "stream", "stop"]),
    },
    {
      method: "POST",
      path: "/v1/chat/completions",
      inputs: bodies(chat, ["model", "messages", "max_tokens"]),
    },
    {
      method: "POST",
      path: "/benchmarks/run",
      inputs: bodies(run, [
        "model",
        "runtimes",
        "workloads",
        "targets",
        "cost",
        "seed",
        "slo",
        "max_error_fraction",
      ]),
    },
    { method: "POST", path: "/ui/config", inputs: fc.oneof(uiConfig, bodies(fc.constant({}), ["model"])) },
    { method: "GET", path: "/benchmarks", inputs: queries("/benchmarks", ["model", "runtime", "status"]) },
    {
      method: "GET",
      path: "/benchmarks/compare",
      inputs: queries("/benchmarks/compare", ["base", "head", "threshold", "noise_floor"]),
    },
    { method: "GET", path: "/deployments/:id", inputs: segments((id) => `/deployments/${id}`) },
    { method: "DELETE", path: "/deployments/:id", inputs: segments((id) => `/deployments/${id}`) },
    { method: "GET", path: "/benchmarks/:id", inputs: segments((id) => `/benchmarks/${id}`) },
    { method: "POST", path: "/benchmarks/:id/cancel", inputs: segments((id) => `/benchmarks/${id}/cancel`) },
    {
      method: "GET",
      path: "/benchmarks/:id/artifacts/*",
      inputs: segments((id) => `/benchmarks/run-x/artifacts/${id}`),
    },
  ];
}

/** The state no refused request may change. */
export async function gatewayState(t: TestGateway) {
  const deployments = (
    await t.gateway.app.inject({ method: "GET", url: "/deployments" })
  ).json() as unknown[];
  const runs = await t.store.listRuns({});
  // Replicas the local backend holds, started or (re)starting: a pid comes and goes while an
  // existing replica restarts, which no refused request causes; a leaked start adds a replica.
  const processes = (await t.local.list()).reduce((n, d) => n + d.replicas.length, 0);
  return { deployments: deployments.length, runs: runs.length, processes };
}

/** Removes what a successful request created, so the next input starts from the same state. */
async function undo(t: TestGateway, route: GatewayRoute, body: string): Promise<void> {
  const app = t.gateway.app;
  let id: string | undefined;
  try {
    id = (JSON.parse(body) as { id?: string }).id;
  } catch {
    return;
  }
  if (id === undefined) return;
  if (route.path === "/deploy") await app.inject({ method: "DELETE", url: `/deployments/${id}` });
  if (route.path === "/benchmarks/run") {
    await app.inject({ method: "POST", url: `/benchmarks/${id}/cancel` });
    for (let i = 0; i < 600; i++) {
      const run = await t.store.getRun(id);
      if (run && run.status !== "queued" && run.status !== "running") break;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Sends one input and checks the property; throws with the input and the answer when it fails. */
export async function checkGatewayInput(
  t: TestGateway,
  route: GatewayRoute,
  input: BodyInput & { url?: string },
  o: { timeoutMs: number },
): Promise<{ status: number }> {
  const before = await gatewayState(t);
  const url = input.url ?? route.path;
  const res = await within(
    o.timeoutMs,
    `${route.method} ${url} ${describeInput(input)}`,
    t.gateway.app.inject({
      method: route.method,
      url,
      ...(route.method === "POST"
        ? { payload: input.payload, headers: { "content-type": input.contentType } }
        : {}),
    }),
  );
  const fail = (why: string) => {
    throw new Error(
      `${route.method} ${route.path}: ${why}\n  url: ${url.slice(0, 300)}\n  input: ${describeInput(input)}\n  answer: ${res.statusCode} ${res.body.slice(0, 500)}`,
    );
  };
  if (res.statusCode >= 500) fail("a 5xx for bad input");
  if (res.statusCode >= 400) {
    let message: unknown;
    try {
      message = (res.json() as { error?: { message?: unknown } }).error?.message;
    } catch {
      fail("a refusal without a JSON error body");
    }
    if (typeof message !== "string") fail("a refusal without error.message");
    if (res.body.length > 20_000) fail(`an error body of ${res.body.length} characters`);
    const after = await gatewayState(t);
    if (JSON.stringify(after) !== JSON.stringify(before))
      fail(`a refused request changed the state: ${JSON.stringify(before)} → ${JSON.stringify(after)}`);
  } else if (route.method === "POST" && (route.path === "/deploy" || route.path === "/benchmarks/run")) {
    await undo(t, route, res.body);
  }
  return { status: res.statusCode };
}
