/**
 * The gateway's admission per deployment, on real parts: the gateway on a socket, two sim worker
 * processes started by the local backend (each answering its first token after 2 s, so requests
 * stay in flight), and an in-flight limit of 2 per deployment. The third request to one
 * deployment is refused with 429 and Retry-After, counted in /metrics; the other deployment is
 * unaffected; a finished request gives its place back.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeploymentAdmission } from "../../src/gateway/admission.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";
import { waitFor } from "../helpers/wait-for.js";

let t: TestGateway;
let base: string;

beforeAll(async () => {
  t = await startTestGateway({ name: "gateway-admission", maxInFlightPerDeployment: 2 });
  base = await t.gateway.app.listen({ host: "127.0.0.1", port: 0 });
  for (const model of ["busy-a", "busy-b"]) {
    const res = await fetch(`${base}/deploy`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model, runtime: "sim", engine_args: ["--ttft-ms", "2000"] }),
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    await waitFor(
      async () => {
        const d = (await (await fetch(`${base}/deployments/${id}`)).json()) as { status: string };
        if (d.status === "failed") throw new Error(`deployment ${id} failed`);
        return d.status === "ready";
      },
      { what: `deployment ${model} to be ready`, timeoutMs: 60_000, intervalMs: 200 },
    );
  }
}, 120_000);

afterAll(async () => {
  await t?.close();
});

const post = (path: string, body: unknown) =>
  fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

const streamed = (model: string) => ({
  model,
  messages: [{ role: "user", content: "hello" }],
  max_tokens: 2,
  stream: true,
});

async function refusedCount(model: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const m = text.match(
    new RegExp(
      `^tokenforge_gateway_refused_requests_total\\{[^}]*model="${model}"[^}]*reason="deployment_busy"[^}]*\\} (\\d+)`,
      "m",
    ),
  );
  return m ? Number(m[1]) : 0;
}

describe("admission per deployment", () => {
  it("refuses past the deployment's in-flight limit with 429 and Retry-After, and only that deployment", async () => {
    // Two streams to busy-a: their headers are back, their first token is 2 s away.
    const held = await Promise.all([
      post("/v1/chat/completions", streamed("busy-a")),
      post("/v1/chat/completions", streamed("busy-a")),
    ]);
    expect(held.map((r) => r.status)).toEqual([200, 200]);

    const t0 = performance.now();
    const refused = await post("/v1/chat/completions", streamed("busy-a"));
    const refusedMs = performance.now() - t0;
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("1");
    const body = (await refused.json()) as { error: { type: string; code: string; message: string } };
    expect(body.error).toMatchObject({ type: "rate_limit_error", code: "over_capacity" });
    expect(body.error.message).toMatch(/in flight/);
    // Refused before any worker was asked: far sooner than the worker's 2 s first token.
    expect(refusedMs).toBeLessThan(2000);

    // The gateway's own route answers in its own error shape.
    const infer = await post("/infer", { model: "busy-a", prompt: "hi", max_tokens: 2 });
    expect(infer.status).toBe(429);
    expect(infer.headers.get("retry-after")).toBe("1");
    expect(((await infer.json()) as { error: { code: string } }).error.code).toBe("over_capacity");
    expect(await refusedCount("busy-a")).toBe(2);

    // Another deployment has its own places.
    const other = await post("/v1/chat/completions", { ...streamed("busy-b"), stream: false });
    expect(other.status).toBe(200);
    expect(await refusedCount("busy-b")).toBe(0);

    // Once the held answers end, their places are free again.
    for (const r of held) expect(await r.text()).toContain("data: [DONE]");
    const again = await post("/v1/chat/completions", { ...streamed("busy-a"), stream: false });
    expect(again.status).toBe(200);
  }, 60_000);
});

describe("DeploymentAdmission", () => {
  it("counts per deployment, releases once, and refuses a limit below 1", () => {
    const a = new DeploymentAdmission(1);
    const release = a.tryEnter("d1");
    expect(release).toBeDefined();
    expect(a.tryEnter("d1")).toBeUndefined();
    expect(a.tryEnter("d2")).toBeDefined();
    release?.();
    release?.();
    expect(a.count("d1")).toBe(0);
    expect(a.tryEnter("d1")).toBeDefined();
    expect(() => new DeploymentAdmission(0)).toThrow(/≥ 1/);
  });
});
