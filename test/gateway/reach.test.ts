/**
 * What the gateway may touch for an API caller, through its routes on real parts (PGlite, the
 * local backend starting `sim` workers): file names only inside its directories, URL targets only
 * its own deployments or what the allow-list names (after DNS), redirects never followed, and a
 * target's /health answer recorded as a short summary. Every refusal names the field and leaves
 * the runs, the deployments and the processes as they were.
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";
import { waitFor } from "../helpers/wait-for.js";

const SECRET = "password: hunter2-do-not-echo";
let dir: string;
let gw: TestGateway;

beforeAll(async () => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), "tokenforge-reach-")));
  const datasets = join(dir, "datasets");
  mkdirSync(datasets);
  writeFileSync(join(datasets, "prompts.jsonl"), `${JSON.stringify({ prompt: "one two three four" })}\n`);
  writeFileSync(join(dir, "secret.yaml"), `${SECRET}\n`);
  writeFileSync(join(dir, "secret.jsonl"), `{"prompt": "${SECRET}"}\n`);
  symlinkSync(join(dir, "secret.jsonl"), join(datasets, "out.jsonl"));
  gw = await startTestGateway({ name: "reach", dir, callerRoots: { datasetsDir: datasets } });
}, 60_000);

afterAll(async () => {
  // The directory is made before the gateway, so it goes even when the gateway never started.
  if (gw) await gw.close();
  else rmSync(dir, { recursive: true, force: true });
});

const inject = (method: "GET" | "POST" | "DELETE", url: string, payload?: unknown) =>
  gw.gateway.app.inject({ method, url, ...(payload === undefined ? {} : { payload: payload as object }) });

/** What a refused request must leave as it was. */
async function state() {
  return {
    runs: (await inject("GET", "/benchmarks")).json().length as number,
    deployments: (await inject("GET", "/deployments")).json().length as number,
    workers: (await gw.local.list()).length,
  };
}

const workload = (extra: Record<string, unknown> = {}) => ({
  name: "w",
  qps: 50,
  num_requests: 4,
  prompt_len: 8,
  gen_tokens: 4,
  ...extra,
});

async function refused(url: string, body: unknown, field: string) {
  const before = await state();
  const res = await inject("POST", url, body);
  expect(res.statusCode, res.body).toBe(400);
  expect(res.json().error.field).toBe(field);
  expect(res.body).not.toContain("hunter2");
  expect(await state()).toEqual(before);
  return res.json().error.message as string;
}

describe("file names from API callers", () => {
  it("refuses dataset paths outside the datasets directory with one message, whether or not they exist", async () => {
    const messages = new Set<string>();
    for (const name of [
      join(dir, "secret.jsonl"),
      join(dir, "absent.jsonl"),
      "../secret.jsonl",
      "out.jsonl",
      "/etc/passwd",
    ]) {
      const message = await refused(
        "/benchmarks/run",
        { model: "m", runtimes: ["sim"], workloads: [workload({ dataset: { jsonl: name } })] },
        "workloads[0].dataset.jsonl",
      );
      messages.add(message.replace(`"${name}"`, "NAME"));
    }
    expect(messages.size).toBe(1);
  });

  it("refuses a cost profile given as a path, without quoting the file", async () => {
    for (const cost of [join(dir, "secret.yaml"), "../secret.yaml"]) {
      await refused(
        "/benchmarks/run",
        { model: "m", runtimes: ["sim"], cost, workloads: [workload()] },
        "cost",
      );
    }
  });

  it("refuses a deployment model that is a path, and engine_args that set an owned flag", async () => {
    await refused("/deploy", { model: join(dir, "secret.yaml"), runtime: "sim" }, "model");
    await refused("/deploy", { model: "../secret.yaml", runtime: "sim" }, "model");
    for (const args of [["--port=1"], ["--host", "0.0.0.0"], ["--model", "other"], ["--mod", "other"]]) {
      const message = await refused(
        "/deploy",
        { model: "sim-x", runtime: "sim", engine_args: args },
        "engine_args",
      );
      expect(message).toContain(args[0]!.split("=")[0]);
    }
  });
});

describe("dataset uploads", () => {
  const put = (name: string, body: string, type = "application/x-ndjson") =>
    gw.gateway.app.inject({
      method: "PUT",
      url: `/datasets/${name}`,
      headers: { "content-type": type },
      payload: body,
    });

  it("stores a file in the datasets directory under a plain name, and lists what runs may name", async () => {
    const file = `${JSON.stringify({ prompt: "five six seven eight" })}\n`;
    const res = await put("uploaded.jsonl", file);
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toEqual({ name: "uploaded.jsonl", bytes: Buffer.byteLength(file) });
    const listed = (await inject("GET", "/datasets")).json() as { name: string }[];
    // The link out of the directory is not something a run could name, so it is not listed.
    expect(listed.map((d) => d.name)).toEqual(["prompts.jsonl", "uploaded.jsonl"]);
  });

  it("refuses names that are not one plain file name, and empty bodies, writing nothing", async () => {
    for (const name of ["..%2Fescape.jsonl", "%2Ftmp%2Fx.jsonl", "x.txt", ".hidden.jsonl", "a%00.jsonl"]) {
      const res = await put(name, '{"prompt":"x"}\n');
      expect(res.statusCode, name).toBe(400);
    }
    expect((await put("empty.jsonl", "")).statusCode).toBe(400);
    const listed = (await inject("GET", "/datasets")).json() as { name: string }[];
    expect(listed.map((d) => d.name)).toEqual(["prompts.jsonl", "uploaded.jsonl"]);
  });
});

describe("URL targets", () => {
  it("refuses the gateway's own services and names resolving to this host", async () => {
    for (const url of [
      "http://127.0.0.1:5432",
      "http://localhost:5432",
      "http://[::1]:8080",
      "http://10.0.0.1:80",
    ]) {
      await refused(
        "/benchmarks/run",
        { model: "m", runtimes: ["sim"], targets: { sim: url }, workloads: [workload()] },
        "targets.sim",
      );
    }
  });

  it("reaches its own deployment, with an uploaded dataset, and records /health as a summary", async () => {
    const upload = await gw.gateway.app.inject({
      method: "PUT",
      url: "/datasets/run-prompts.jsonl",
      headers: { "content-type": "application/x-ndjson" },
      payload: `${JSON.stringify({ prompt: "nine ten eleven twelve" })}\n`,
    });
    expect(upload.statusCode, upload.body).toBe(201);
    const dep = (await inject("POST", "/deploy", { model: "sim-reach", runtime: "sim" })).json();
    const ready = await waitFor(
      async () => {
        const d = (await inject("GET", `/deployments/${dep.id}`)).json();
        if (d.status === "failed") throw new Error(d.last_error);
        return d.status === "ready" ? d : undefined;
      },
      { what: "the sim deployment to be ready", timeoutMs: 60_000, intervalMs: 200 },
    );
    const res = await inject("POST", "/benchmarks/run", {
      model: "sim-reach",
      runtimes: ["sim"],
      targets: { sim: ready.endpoints[0] },
      workloads: [workload({ dataset: { jsonl: "run-prompts.jsonl" } })],
    });
    expect(res.statusCode, res.body).toBe(202);
    const run = await waitFor(
      async () => {
        const r = (await inject("GET", `/benchmarks/${res.json().id}`)).json();
        return r.status === "queued" || r.status === "running" ? undefined : r;
      },
      { what: "the run to end", timeoutMs: 60_000, intervalMs: 200 },
    );
    expect(run.status, run.error).toBe("complete");
    const result = JSON.parse((await inject("GET", `/benchmarks/${run.id}/artifacts/result.json`)).body) as {
      targets: { health: Record<string, unknown> }[];
    };
    const health = result.targets[0]!.health;
    expect(health.http_status).toBe(200);
    for (const [key, value] of Object.entries(health)) {
      expect(["string", "number", "boolean"], key).toContain(typeof value);
      if (typeof value === "string") expect(value.length, key).toBeLessThanOrEqual(129);
    }
    await inject("DELETE", `/deployments/${dep.id}`);
  }, 120_000);
});

describe("redirects", () => {
  let t: TestGateway;
  let redirector: Server;
  let destination: Server;
  let destinationHits = 0;
  const listen = async (s: Server) => {
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  };

  beforeAll(async () => {
    t = await startTestGateway({ name: "reach-redirect", allowTargets: "127.0.0.1" });
    destination = createServer((_req, res) => {
      destinationHits++;
      res.end(JSON.stringify({ status: "ok", note: SECRET }));
    });
    const to = await listen(destination);
    redirector = createServer((_req, res) => {
      res.writeHead(302, { location: `${to}/health` }).end();
    });
    await listen(redirector);
  }, 60_000);

  afterAll(async () => {
    await t?.close();
    redirector?.close();
    destination?.close();
  });

  it("are not followed: the probe stops at the 302 and the run fails without touching the destination", async () => {
    const url = `http://127.0.0.1:${(redirector.address() as AddressInfo).port}`;
    const res = await t.gateway.app.inject({
      method: "POST",
      url: "/benchmarks/run",
      payload: { model: "m", runtimes: ["sim"], targets: { sim: url }, workloads: [workload()] },
    });
    expect(res.statusCode, res.body).toBe(202);
    const run = await waitFor(
      async () => {
        const r = (await t.gateway.app.inject({ method: "GET", url: `/benchmarks/${res.json().id}` })).json();
        return r.status === "queued" || r.status === "running" ? undefined : r;
      },
      { what: "the run to end", timeoutMs: 30_000, intervalMs: 100 },
    );
    expect(run.status).toBe("failed");
    expect(JSON.stringify(run)).not.toContain("hunter2");
    expect(destinationHits).toBe(0);
  });
});
