/**
 * Keys and roles on the gateway, through inject() on real parts (the store on PGlite, the local
 * backend): every registered route, read from Fastify's own route list, refuses a request without
 * a key (401) and a user key where it needs admin (403); keys are shown once and stored hashed;
 * a revoked key is refused; `Host` is checked; per-key limits answer 429; a user reaches only its
 * own runs; and a gateway with no key serves open until the first key is made.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkEnvAdminKey, createApiKey, sha256Hex } from "../../src/gateway/api-keys.js";
import type { GatewayAuthOptions } from "../../src/gateway/app.js";
import type { RunRow } from "../../src/spec/store.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";
import { waitFor } from "../helpers/wait-for.js";

/** A gateway on real parts with these key options. */
function start(auth?: GatewayAuthOptions): Promise<TestGateway> {
  return startTestGateway({ name: "auth", auth });
}

/** A concrete URL for a route pattern (`:id` → a value that exists nowhere, `*` → a name). */
function concrete(url: string): string {
  return url.replace(/:[a-zA-Z_]+/g, "no-such-id").replace(/\*$/, "result.json");
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describe("gateway access with keys", () => {
  let h: TestGateway;
  let admin: string;
  let user: string;
  let userB: string;
  let userId: string;
  let userBId: string;

  beforeAll(async () => {
    h = await start();
    admin = (await createApiKey(h.store, "ops", "admin")).secret;
    const u = await createApiKey(h.store, "alice", "user");
    const b = await createApiKey(h.store, "bob", "user");
    user = u.secret;
    userId = u.key.id;
    userB = b.secret;
    userBId = b.key.id;
    await h.gateway.keys.reload();
  });
  afterAll(async () => h?.close());

  it("lists every route with an access level, and the ones that matter are classified", () => {
    const routes = h.gateway.auth.routes();
    const access = new Map(routes.map((r) => [`${r.method} ${r.url}`, r.access]));
    expect(routes.length).toBeGreaterThan(25);
    expect(access.get("POST /deploy")).toBe("admin");
    expect(access.get("DELETE /deployments/:id")).toBe("admin");
    expect(access.get("POST /keys")).toBe("admin");
    expect(access.get("POST /v1/chat/completions")).toBe("user");
    expect(access.get("GET /benchmarks/:id")).toBe("user");
    expect(access.get("GET /metrics")).toBe("scrape");
    expect(access.get("GET /prometheus/targets")).toBe("scrape");
    expect(access.get("GET /health")).toBe("public");
    expect(h.gateway.auth.open).toBe(false);
  });

  it("refuses every non-public route without a key (401), and a user key on admin routes (403)", async () => {
    const routes = h.gateway.auth.routes();
    let checked = 0;
    for (const r of routes) {
      const method = r.method as "GET" | "POST" | "DELETE" | "HEAD" | "PUT" | "PATCH" | "OPTIONS";
      const url = concrete(r.url);
      const label = `${r.method} ${r.url}`;
      const none = await h.gateway.app.inject({ method, url });
      if (r.access === "public" || r.access === "scrape") {
        expect([401, 403], label).not.toContain(none.statusCode);
        continue;
      }
      checked++;
      expect(none.statusCode, label).toBe(401);
      expect(none.headers["www-authenticate"], label).toMatch(/^Bearer/);
      if (method !== "HEAD") expect(none.json().error.code, label).toBe("unauthorized");
      const wrong = await h.gateway.app.inject({ method, url, headers: bearer("tf_not-a-key") });
      expect(wrong.statusCode, label).toBe(401);
      const asUser = await h.gateway.app.inject({ method, url, headers: bearer(user) });
      if (r.access === "admin") {
        expect(asUser.statusCode, label).toBe(403);
        if (method !== "HEAD") expect(asUser.json().error.code, label).toBe("forbidden");
      } else {
        expect([401, 403], label).not.toContain(asUser.statusCode);
      }
      const asAdmin = await h.gateway.app.inject({ method, url, headers: bearer(admin) });
      expect([401, 403], label).not.toContain(asAdmin.statusCode);
    }
    expect(checked).toBeGreaterThan(15);
  });

  it("answers an unknown route 401 without a key and 404 with one", async () => {
    expect((await h.gateway.app.inject({ url: "/nowhere" })).statusCode).toBe(401);
    expect((await h.gateway.app.inject({ url: "/nowhere", headers: bearer(user) })).statusCode).toBe(404);
  });

  it("keeps /metrics and /health open by default, and counts refusals there", async () => {
    expect((await h.gateway.app.inject({ url: "/health" })).statusCode).toBe(200);
    const m = await h.gateway.app.inject({ url: "/metrics" });
    expect(m.statusCode).toBe(200);
    expect(m.body).toMatch(/tokenforge_gateway_access_refused_total\{reason="missing_key"\} [1-9]/);
    expect(m.body).toMatch(/tokenforge_gateway_access_refused_total\{reason="wrong_role"\} [1-9]/);
  });

  it("shows a created key once and stores only its SHA-256", async () => {
    const made = await h.gateway.app.inject({
      method: "POST",
      url: "/keys",
      headers: bearer(admin),
      payload: { name: "ci", role: "user" },
    });
    expect(made.statusCode).toBe(201);
    expect(made.headers["cache-control"]).toBe("no-store");
    const { id, key } = made.json() as { id: string; key: string };
    expect(key).toMatch(/^tf_[A-Za-z0-9_-]{43}$/);
    const listed = await h.gateway.app.inject({ url: "/keys", headers: bearer(admin) });
    expect(listed.body).not.toContain(key);
    expect(listed.body).not.toContain(sha256Hex(key));
    expect((listed.json() as { id: string }[]).map((k) => k.id)).toContain(id);
    const rows = await h.store.listApiKeys();
    expect(JSON.stringify(rows)).not.toContain(key);
    expect(rows.find((r) => r.id === id)?.hash).toBe(sha256Hex(key));
    // The new key works at once.
    expect((await h.gateway.app.inject({ url: "/deployments", headers: bearer(key) })).statusCode).toBe(200);
  });

  it("refuses a key once it is revoked", async () => {
    const { key, secret } = await createApiKey(h.store, "temp", "admin");
    await h.gateway.keys.reload();
    expect((await h.gateway.app.inject({ url: "/keys", headers: bearer(secret) })).statusCode).toBe(200);
    const revoked = await h.gateway.app.inject({
      method: "DELETE",
      url: `/keys/${key.id}`,
      headers: bearer(admin),
    });
    expect(revoked.statusCode).toBe(200);
    expect(revoked.json().revoked_at).toBeDefined();
    const after = await h.gateway.app.inject({ url: "/keys", headers: bearer(secret) });
    expect(after.statusCode).toBe(401);
    expect(after.json().error.message).toMatch(/revoked/);
    expect(
      (await h.gateway.app.inject({ method: "DELETE", url: "/keys/key-none", headers: bearer(admin) }))
        .statusCode,
    ).toBe(404);
  });

  it("refuses a foreign Host (421) and accepts loopback names", async () => {
    for (const host of ["evil.example:8080", "attacker.test", "10.0.0.1.nip.io"]) {
      const res = await h.gateway.app.inject({ url: "/health", headers: { host } });
      expect(res.statusCode, host).toBe(421);
      expect(res.json().error.code).toBe("misdirected_request");
    }
    for (const host of ["localhost:8080", "127.0.0.1:1", "[::1]:8080", "LOCALHOST.", "app.localhost"]) {
      expect((await h.gateway.app.inject({ url: "/health", headers: { host } })).statusCode, host).toBe(200);
    }
  });

  it("lets a user reach only its own runs; an admin reaches all", async () => {
    const base: Omit<RunRow, "id" | "owner"> = {
      status: "complete",
      model: "sim:tiny",
      runtimes: ["sim"],
      config: {},
      seed: 1,
      environment: {},
      createdAt: new Date().toISOString(),
    };
    await h.store.createRun({ ...base, id: "run-alice", owner: userId });
    await h.store.createRun({ ...base, id: "run-bob", owner: userBId });
    const get = (url: string, key: string, method: "GET" | "POST" = "GET") =>
      h.gateway.app.inject({ method, url, headers: bearer(key) });
    expect((await get("/benchmarks/run-alice", user)).statusCode).toBe(200);
    expect((await get("/benchmarks/run-bob", user)).statusCode).toBe(404);
    expect((await get("/benchmarks/run-bob/artifacts/result.json", user)).statusCode).toBe(404);
    expect((await get("/benchmarks/run-bob/cancel", user, "POST")).statusCode).toBe(404);
    expect((await get("/benchmarks/run-bob/resume", user, "POST")).statusCode).toBe(404);
    const compared = await get("/benchmarks/compare?a=run-bob&b=run-alice", user);
    expect(compared.statusCode).toBe(404);
    expect(compared.json().error.field).toBe("a");
    const listed = (await get("/benchmarks", user)).json() as { id: string }[];
    expect(listed.map((r) => r.id)).toEqual(["run-alice"]);
    const bobs = (await get("/benchmarks", userB)).json() as { id: string }[];
    expect(bobs.map((r) => r.id)).toEqual(["run-bob"]);
    expect((await get("/benchmarks/run-bob", admin)).statusCode).toBe(200);
    const all = (await get("/benchmarks", admin)).json() as { id: string }[];
    expect(all.map((r) => r.id).sort()).toEqual(["run-alice", "run-bob"]);
  });

  it("refuses a user's run that would attach to a URL or deploy, and records nothing", async () => {
    const config = {
      model: "sim:tiny",
      workloads: [{ name: "w", qps: 1, num_requests: 1, prompt_len: 4, gen_tokens: 2 }],
    };
    const attach = await h.gateway.app.inject({
      method: "POST",
      url: "/benchmarks/run",
      headers: bearer(user),
      payload: { ...config, runtimes: ["openai"], targets: { openai: "http://127.0.0.1:5432" } },
    });
    expect(attach.statusCode).toBe(403);
    expect(attach.json().error.field).toBe("targets.openai");
    const deploy = await h.gateway.app.inject({
      method: "POST",
      url: "/benchmarks/run",
      headers: bearer(user),
      payload: { ...config, runtimes: ["sim"] },
    });
    expect(deploy.statusCode).toBe(403);
    expect(deploy.json().error.message).toMatch(/admin/);
    const before = (await h.store.listRuns()).length;
    expect(before).toBe(2);
  });
});

describe("a user's run on an admin's deployment", () => {
  let h: TestGateway;
  beforeAll(async () => {
    h = await start();
  });
  afterAll(async () => h?.close());

  it("runs, is recorded under the user's key, and is hidden from another user", async () => {
    const admin = (await createApiKey(h.store, "ops", "admin")).secret;
    const alice = await createApiKey(h.store, "alice", "user");
    const bob = (await createApiKey(h.store, "bob", "user")).secret;
    await h.gateway.keys.reload();
    const deployed = await h.gateway.app.inject({
      method: "POST",
      url: "/deploy",
      headers: bearer(admin),
      payload: { model: "sim-model", runtime: "sim" },
    });
    expect(deployed.statusCode).toBe(202);
    const id = deployed.json().id as string;
    await waitFor(
      async () =>
        (await h.gateway.app.inject({ url: `/deployments/${id}`, headers: bearer(alice.secret) })).json()
          .status === "ready",
      { what: "the sim deployment to be ready", timeoutMs: 60_000 },
    );
    const started = await h.gateway.app.inject({
      method: "POST",
      url: "/benchmarks/run",
      headers: bearer(alice.secret),
      payload: {
        model: "sim-model",
        runtimes: ["sim"],
        workloads: [{ name: "w", qps: 5, num_requests: 2, prompt_len: 4, gen_tokens: 2 }],
      },
    });
    expect(started.statusCode).toBe(202);
    const runId = started.json().id as string;
    expect((await h.store.getRun(runId))?.owner).toBe(alice.key.id);
    const ended = await waitFor(
      async () => {
        const r = (
          await h.gateway.app.inject({ url: `/benchmarks/${runId}`, headers: bearer(alice.secret) })
        ).json();
        return r.status !== "queued" && r.status !== "running" ? r : undefined;
      },
      { what: "the run to end", timeoutMs: 60_000 },
    );
    expect(ended.status).toBe("complete");
    expect(
      (await h.gateway.app.inject({ url: `/benchmarks/${runId}`, headers: bearer(bob) })).statusCode,
    ).toBe(404);
    expect(
      (await h.gateway.app.inject({ url: `/benchmarks/${runId}`, headers: bearer(admin) })).statusCode,
    ).toBe(200);
  });
});

describe("per-key limits", () => {
  let h: TestGateway;
  let key: string;
  beforeAll(async () => {
    h = await start({ limits: { ratePerSecond: 1, burst: 3 } });
    key = (await createApiKey(h.store, "busy", "user")).secret;
    await h.gateway.keys.reload();
  });
  afterAll(async () => h?.close());

  it("answers 429 with Retry-After past a key's rate, counted in /metrics, without touching other keys", async () => {
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) {
      codes.push((await h.gateway.app.inject({ url: "/deployments", headers: bearer(key) })).statusCode);
    }
    expect(codes.slice(0, 3)).toEqual([200, 200, 200]);
    expect(codes.slice(3)).toEqual([429, 429]);
    const refused = await h.gateway.app.inject({ url: "/deployments", headers: bearer(key) });
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    expect(refused.json().error.code).toBe("over_capacity");
    const other = (await createApiKey(h.store, "other", "user")).secret;
    await h.gateway.keys.reload();
    expect((await h.gateway.app.inject({ url: "/deployments", headers: bearer(other) })).statusCode).toBe(
      200,
    );
    const m = await h.gateway.app.inject({ url: "/metrics" });
    expect(m.body).toMatch(/tokenforge_gateway_access_refused_total\{reason="rate_limited"\} [3-9]/);
  });
});

describe("metrics behind a key", () => {
  let h: TestGateway;
  beforeAll(async () => {
    h = await start({ metricsAuth: true });
    await createApiKey(h.store, "scraper", "user");
    await h.gateway.keys.reload();
  });
  afterAll(async () => h?.close());

  it("needs a key for /metrics and service discovery, never for /health", async () => {
    expect((await h.gateway.app.inject({ url: "/metrics" })).statusCode).toBe(401);
    expect((await h.gateway.app.inject({ url: "/prometheus/targets" })).statusCode).toBe(401);
    expect((await h.gateway.app.inject({ url: "/health" })).statusCode).toBe(200);
  });
});

describe("a gateway with no key", () => {
  let h: TestGateway;
  beforeAll(async () => {
    h = await start();
  });
  afterAll(async () => h?.close());

  it("serves open until the first key is made, then asks for one", async () => {
    expect(h.gateway.auth.open).toBe(true);
    expect((await h.gateway.app.inject({ url: "/deployments" })).statusCode).toBe(200);
    const made = await h.gateway.app.inject({
      method: "POST",
      url: "/keys",
      payload: { name: "first admin", role: "admin" },
    });
    expect(made.statusCode).toBe(201);
    expect(h.gateway.auth.open).toBe(false);
    expect((await h.gateway.app.inject({ url: "/deployments" })).statusCode).toBe(401);
    const key = made.json().key as string;
    expect((await h.gateway.app.inject({ url: "/deployments", headers: bearer(key) })).statusCode).toBe(200);
  });

  it("never serves open when told not to (a non-loopback listen address)", async () => {
    const closed = await start({ openWhenNoKeys: false });
    try {
      expect(closed.gateway.auth.open).toBe(false);
      expect((await closed.gateway.app.inject({ url: "/deployments" })).statusCode).toBe(401);
      expect((await closed.gateway.app.inject({ url: "/health" })).statusCode).toBe(200);
    } finally {
      await closed.close();
    }
  });

  it("accepts TOKENFORGE_ADMIN_KEY as an admin key, and refuses a short one", async () => {
    const envKey = "x".repeat(16) + "y".repeat(24);
    const withEnv = await start({ envAdminKey: envKey });
    try {
      expect(withEnv.gateway.auth.open).toBe(false);
      expect((await withEnv.gateway.app.inject({ url: "/keys" })).statusCode).toBe(401);
      expect((await withEnv.gateway.app.inject({ url: "/keys", headers: bearer(envKey) })).statusCode).toBe(
        200,
      );
    } finally {
      await withEnv.close();
    }
    expect(() => checkEnvAdminKey("short")).toThrow(/TOKENFORGE_ADMIN_KEY/);
  });
});

describe("generations in flight per key", () => {
  let h: TestGateway;
  beforeAll(async () => {
    h = await start({ limits: { maxGenerations: 1 } });
  });
  afterAll(async () => h?.close());

  it("refuses a key's second generation while its first is in flight (429), not another key's", async () => {
    const admin = (await createApiKey(h.store, "ops", "admin")).secret;
    const alice = (await createApiKey(h.store, "alice", "user")).secret;
    const bob = (await createApiKey(h.store, "bob", "user")).secret;
    await h.gateway.keys.reload();
    // A simulated engine that holds each request 3 s before its first token.
    const deployed = await h.gateway.app.inject({
      method: "POST",
      url: "/deploy",
      headers: bearer(admin),
      payload: { model: "slow", runtime: "sim", engine_args: ["--ttft-ms", "3000"] },
    });
    expect(deployed.statusCode, deployed.body).toBe(202);
    const id = deployed.json().id as string;
    await waitFor(
      async () =>
        (await h.gateway.app.inject({ url: `/deployments/${id}`, headers: bearer(admin) })).json().status ===
        "ready",
      { what: "the slow sim deployment to be ready", timeoutMs: 60_000 },
    );
    const generate = (key: string) =>
      h.gateway.app.inject({
        method: "POST",
        url: "/v1/completions",
        headers: bearer(key),
        payload: { model: "slow", prompt: "x", max_tokens: 1 },
      });
    const first = generate(alice);
    await waitFor(
      async () =>
        /tokenforge_gateway_requests_in_flight 1/.test(
          (await h.gateway.app.inject({ url: "/metrics" })).body,
        ),
      { what: "the first generation to be in flight" },
    );
    const second = await generate(alice);
    expect(second.statusCode).toBe(429);
    expect(second.headers["retry-after"]).toBe("1");
    expect(second.json().error.message).toMatch(/generations in flight/);
    const other = generate(bob);
    expect((await first).statusCode).toBe(200);
    expect((await other).statusCode).toBe(200);
    // Its first one over, the key may generate again.
    expect((await generate(alice)).statusCode).toBe(200);
    const m = await h.gateway.app.inject({ url: "/metrics" });
    expect(m.body).toMatch(/tokenforge_gateway_access_refused_total\{reason="too_many_generations"\} 1/);
  });
});
