/**
 * Bad input never gets a 5xx from the gateway, and changes nothing: JSON nested thousands deep,
 * an oversized body, a 1 MB unknown key, a model name past the store's index limit, YAML alias
 * bombs and unresolved aliases each get a 4xx with the coded error body naming the field, and a
 * message of bounded size. Through inject(), on a real gateway (PGlite, the local backend).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway({ name: "bad-input", bodyLimit: 2 * 1024 * 1024 });
}, 60_000);
afterAll(async () => {
  await t?.close();
});

interface ErrorBody {
  error: { code: string; message: string; field?: string };
}

const post = (url: string, payload: string, contentType = "application/json") =>
  t.gateway.app.inject({ method: "POST", url, payload, headers: { "content-type": contentType } });

/** What a refused request must leave as it was. */
async function state() {
  return {
    deployments: (await t.gateway.app.inject({ method: "GET", url: "/deployments" })).json().length as number,
    runs: (await t.store.listRuns({})).length,
  };
}

const deepArray = (n: number) => `${"[".repeat(n)}${"]".repeat(n)}`;
const deepObject = (n: number) => `${'{"a":'.repeat(n)}1${"}".repeat(n)}`;

describe("JSON nested too deep is a 400 naming the body", () => {
  const cases: [string, string][] = [
    ["/deploy", `{"model":"m","runtime":"sim","engine_args":${deepArray(5000)}}`],
    ["/infer", `{"model":"m","prompt":${deepArray(5000)}}`],
    ["/v1/completions", `{"model":"m","prompt":${deepArray(5000)}}`],
    ["/v1/chat/completions", deepObject(5000)],
    ["/benchmarks/run", `{"model":"m","runtimes":["sim"],"workloads":[{}],"cost":${deepObject(5000)}}`],
    ["/benchmarks/run", `{"model":"m","runtimes":["sim"],"workloads":${deepArray(5000)}}`],
  ];
  it.each(cases)("%s", async (url, payload) => {
    const before = await state();
    const res = await post(url, payload);
    expect(res.statusCode).toBe(400);
    const e = (res.json() as ErrorBody).error;
    expect(e.message).toMatch(/nested deeper than 64 levels/);
    // /v1/ answers in OpenAI's shape, the rest in the gateway's.
    if (url.startsWith("/v1/")) expect(res.json()).toMatchObject({ error: { param: "body" } });
    else expect(e).toMatchObject({ code: "invalid_request", field: "body" });
    expect(await state()).toEqual(before);
  });

  it("nesting within the limit is read as before", async () => {
    const res = await post(
      "/benchmarks/run",
      `{"model":"m","runtimes":["sim"],"workloads":[{}],"cost":${deepObject(40)}}`,
    );
    expect(res.statusCode).toBe(400);
    expect((res.json() as ErrorBody).error.message).toMatch(/invalid benchmark config/);
  });
});

describe("sizes", () => {
  it("a body over the limit is a 413 with the coded body", async () => {
    const before = await state();
    const res = await post("/infer", JSON.stringify({ model: "m", prompt: "x".repeat(3 * 1024 * 1024) }));
    expect(res.statusCode).toBe(413);
    expect((res.json() as ErrorBody).error).toMatchObject({ code: "payload_too_large", field: "body" });
    expect(await state()).toEqual(before);
  });

  it("a 1 MB unknown key is refused with a short message, on every body schema", async () => {
    const key = "k".repeat(1_000_000);
    for (const [url, body] of [
      ["/benchmarks/run", { model: "m", runtimes: ["sim"], workloads: [{}], [key]: 1 }],
      ["/deploy", { model: "m", runtime: "sim", [key]: 1 }],
      ["/infer", { model: "m", prompt: "x", [key]: 1 }],
    ] as const) {
      const before = await state();
      const res = await post(url, JSON.stringify(body));
      expect(res.statusCode, url).toBe(400);
      expect(res.body.length, url).toBeLessThan(20_000);
      expect((res.json() as ErrorBody).error.code, url).toBe("invalid_request");
      expect(await state()).toEqual(before);
    }
  });

  it("a model name past what the store can index is a 400 naming model", async () => {
    const model = "m".repeat(3000);
    for (const [url, body] of [
      [
        "/benchmarks/run",
        { model, runtimes: ["sim"], workloads: [{ name: "w", qps: 1, prompt_len: 4, gen_tokens: 2 }] },
      ],
      ["/deploy", { model, runtime: "sim" }],
      ["/infer", { model, prompt: "x" }],
    ] as const) {
      const before = await state();
      const res = await post(url, JSON.stringify(body));
      expect(res.statusCode, url).toBe(400);
      expect((res.json() as ErrorBody).error.field, url).toBe("model");
      expect((res.json() as ErrorBody).error.message, url).toMatch(/model/);
      expect(await state()).toEqual(before);
    }
  });

  it("a workload or runtime name past its bound is a 400 naming it", async () => {
    const res = await post(
      "/benchmarks/run",
      JSON.stringify({
        model: "m",
        runtimes: ["sim"],
        workloads: [{ name: "w".repeat(3000), qps: 1, prompt_len: 4, gen_tokens: 2 }],
      }),
    );
    expect(res.statusCode).toBe(400);
    expect((res.json() as ErrorBody).error.field).toBe("workloads[0].name");
    const rt = await post(
      "/benchmarks/run",
      JSON.stringify({ model: "m", runtimes: ["r".repeat(100)], workloads: [{}] }),
    );
    expect(rt.statusCode).toBe(400);
    expect((rt.json() as ErrorBody).error.field).toBe("runtimes[0]");
  });
});

describe("/ui/config reads YAML within bounds", () => {
  const laughs = [
    "a: &a [x, x, x, x, x, x, x, x, x]",
    "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]",
    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]",
    "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]",
    "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]",
    "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]",
    "g: [*f, *f, *f, *f, *f, *f, *f, *f, *f]",
  ].join("\n");
  const cases: [string, string, RegExp][] = [
    ["an alias bomb", laughs, /aliases.*more than 100 times/],
    ["an unresolved alias", "model: m\nruntimes: *nowhere\n", /alias/i],
    ["flow nesting 5,000 deep", `model: ${deepArray(5000)}\n`, /nested deeper than 64 levels|not valid YAML/],
    [
      "block nesting past the limit",
      `${Array.from({ length: 80 }, (_, i) => `${" ".repeat(i)}k:`).join("\n")} 1\n`,
      /nested deeper than 64 levels/,
    ],
  ];
  it.each(cases)("%s is a 400 naming config", async (_name, text, message) => {
    const res = await post("/ui/config", text, "text/plain");
    expect(res.statusCode).toBe(400);
    const e = (res.json() as ErrorBody).error;
    expect(e).toMatchObject({ code: "invalid_request", field: "config" });
    expect(e.message).toMatch(message);
    expect(e.message.length).toBeLessThan(5000);
  });

  it("a few aliases are still read", async () => {
    const res = await post("/ui/config", "base: &w {name: w, qps: 1}\nworkloads: [*w, *w]\n", "text/plain");
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      base: { name: "w", qps: 1 },
      workloads: [
        { name: "w", qps: 1 },
        { name: "w", qps: 1 },
      ],
    });
  });
});
