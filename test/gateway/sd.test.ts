/**
 * The gateway's Prometheus HTTP service discovery: one target group per ready replica of a real
 * sim deployment (local worker processes), in the shape `http_sd_configs` reads, and the shipped
 * Prometheus config pointing at it. The real Prometheus reading it: test/integration/prometheus.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { buildGateway } from "../../src/gateway/app.js";
import { Deployments } from "../../src/gateway/deployments.js";
import { SD_PATH } from "../../src/gateway/routes/sd.js";
import { RuntimeRegistry } from "../../src/runtimes/registry.js";
import { FsArtifactStore } from "../../src/store/artifacts/index.js";
import { openStore } from "../../src/store/db/open.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";
import { waitFor } from "../helpers/wait-for.js";

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway({ name: "sd" });
}, 60_000);
afterAll(async () => t?.close());

const inject = (method: "GET" | "POST" | "DELETE", url: string, payload?: object) =>
  t.gateway.app.inject({ method, url, ...(payload ? { payload } : {}) });

describe("GET /prometheus/targets", () => {
  it("lists nothing while nothing is deployed", async () => {
    const res = await inject("GET", SD_PATH);
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/application\/json/);
    expect(res.json()).toEqual([]);
  });

  it("lists each ready replica with its labels, and drops them when deleted", async () => {
    const created = await inject("POST", "/deploy", { model: "sim-sd", runtime: "sim", replicas: 2 });
    expect(created.statusCode).toBe(202);
    const id = created.json().id as string;
    const d = await waitFor(
      async () => {
        const v = (await inject("GET", `/deployments/${id}`)).json();
        if (v.status === "failed") throw new Error(v.last_error);
        return v.status === "ready" ? v : undefined;
      },
      { what: "the deployment to be ready", timeoutMs: 60_000, intervalMs: 200 },
    );
    const groups = (await inject("GET", SD_PATH)).json() as {
      targets: string[];
      labels: Record<string, string>;
    }[];
    expect(groups).toHaveLength(2);
    const hosts = d.endpoints.map((e: string) => new URL(e).host).sort();
    expect(groups.flatMap((g) => g.targets).sort()).toEqual(hosts);
    expect(groups.map((g) => g.labels.replica).sort()).toEqual(["0", "1"]);
    for (const g of groups) {
      expect(g.targets).toHaveLength(1);
      expect(g.labels).toMatchObject({
        __metrics_path__: "/metrics",
        __scheme__: "http",
        deployment: id,
        model: "sim-sd",
        runtime: "sim",
        backend: "local",
      });
      // What it names is a real exposition.
      const page = await fetch(`http://${g.targets[0]}${g.labels.__metrics_path__}`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("sim_requests_total");
    }
    expect((await inject("DELETE", `/deployments/${id}`)).statusCode).toBe(200);
    expect((await inject("GET", SD_PATH)).json()).toEqual([]);
  }, 90_000);

  it("is what the shipped Prometheus config discovers through", () => {
    const root = join(import.meta.dirname, "..", "..");
    const config = parse(readFileSync(join(root, "deploy/prometheus/prometheus.yml"), "utf8")) as {
      scrape_configs: { job_name: string; http_sd_configs?: { url: string }[] }[];
    };
    const sd = config.scrape_configs.flatMap((j) => j.http_sd_configs ?? []).map((c) => new URL(c.url));
    expect(sd.map((u) => u.pathname)).toContain(SD_PATH);
  });
});

describe("who may read the service discovery", () => {
  it("reads like /metrics: open to the scraper unless metrics need a key", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tokenforge-sd-auth-"));
    for (const metricsAuth of [false, true]) {
      const store = await openStore({ dataDir: "memory://" });
      const none = new RuntimeRegistry([]);
      const gateway = await buildGateway({
        store,
        deployments: new Deployments(store, {}, none),
        runtimes: none,
        artifacts: new FsArtifactStore(join(dir, "artifacts")),
        resultsDir: join(dir, "results"),
        auth: { envAdminKey: "tf_sd_test_admin_key_0123456789abcdefgh", metricsAuth },
      });
      try {
        expect(gateway.auth.routes()).toContainEqual({ method: "GET", url: SD_PATH, access: "scrape" });
        const get = (url: string, key?: string) =>
          gateway.app.inject({
            method: "GET",
            url,
            ...(key ? { headers: { authorization: `Bearer ${key}` } } : {}),
          });
        // A user route needs a key either way: the gateway is not open.
        expect((await get("/deployments")).statusCode).toBe(401);
        expect((await get(SD_PATH)).statusCode).toBe(metricsAuth ? 401 : 200);
        expect((await get("/metrics")).statusCode).toBe(metricsAuth ? 401 : 200);
        expect((await get(SD_PATH, "tf_sd_test_admin_key_0123456789abcdefgh")).statusCode).toBe(200);
      } finally {
        await gateway.app.close();
        await gateway.close();
        await store.close();
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);
});
