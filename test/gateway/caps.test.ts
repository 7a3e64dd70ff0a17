/**
 * The gateway's caps (caps.ts) through its routes, on real parts: a deployment asking for too
 * many replicas, one that would pass the worker-process cap, one past the deployment cap, and a
 * run past the concurrent-run cap are refused (409 / 429, the coded body naming the cap and its
 * value), counted in /metrics, and leave the deployments, the runs and the processes on this
 * machine exactly as they were.
 */
import { readdirSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";
import { waitFor } from "../helpers/wait-for.js";

let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway({
    name: "caps",
    caps: { deployments: 2, replicasPerDeployment: 2, workerProcesses: 3 },
    maxConcurrentRuns: 1,
  });
}, 60_000);

afterAll(async () => {
  await t?.close();
});

const inject = (method: "GET" | "POST" | "DELETE", url: string, payload?: unknown) =>
  t.gateway.app.inject({ method, url, ...(payload === undefined ? {} : { payload: payload as object }) });

/** Every process descended from this one, read from /proc (workers and their keepers). */
function descendants(): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // Gone while listing.
    }
  }
  const out: number[] = [];
  const queue = [process.pid];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      out.push(child);
      queue.push(child);
    }
  }
  return out.sort((a, b) => a - b);
}

async function state() {
  return {
    deployments: (await inject("GET", "/deployments")).json().map((d: { id: string }) => d.id) as string[],
    runs: (await inject("GET", "/benchmarks")).json().length as number,
    local: (await t.local.list()).map((d) => d.id),
    processes: descendants(),
  };
}

/** Waits until the deployment is ready, so no worker of it is still being spawned. */
async function untilReady(id: string) {
  return waitFor(
    async () => {
      const d = (await inject("GET", `/deployments/${id}`)).json();
      if (d.status === "failed") throw new Error(d.last_error);
      return d.status === "ready" ? d : undefined;
    },
    { what: `deployment ${id} to be ready`, timeoutMs: 60_000, intervalMs: 200 },
  );
}

async function capRefusals(cap: string): Promise<number> {
  const text = (await inject("GET", "/metrics")).body;
  const m = new RegExp(`^tokenforge_gateway_cap_refusals_total\\{cap="${cap}"\\} (\\d+)$`, "m").exec(text);
  return m ? Number(m[1]) : 0;
}

async function refusedAtCap(
  url: string,
  body: unknown,
  expected: { status: number; cap: string; value: number; field?: string },
) {
  const before = await state();
  const counted = await capRefusals(expected.cap);
  const res = await inject("POST", url, body);
  expect(res.statusCode, res.body).toBe(expected.status);
  const error = res.json().error;
  expect(error.code).toBe(expected.status === 429 ? "over_capacity" : "conflict");
  expect(error.message).toContain(`cap ${expected.cap} is ${expected.value}`);
  if (expected.field !== undefined) expect(error.field).toBe(expected.field);
  if (expected.status === 429) expect(res.headers["retry-after"]).toBeDefined();
  expect(await state()).toEqual(before);
  expect(await capRefusals(expected.cap)).toBe(counted + 1);
}

describe("caps", () => {
  const ids: string[] = [];

  it("refuses 64 replicas at the replicas-per-deployment cap, starting nothing", async () => {
    await refusedAtCap(
      "/deploy",
      { model: "sim-caps", runtime: "sim", replicas: 64 },
      { status: 409, cap: "replicas_per_deployment", value: 2, field: "replicas" },
    );
  });

  it("refuses a deployment whose workers would pass the worker-process cap", async () => {
    const first = await inject("POST", "/deploy", { model: "sim-caps", runtime: "sim", replicas: 2 });
    expect(first.statusCode, first.body).toBe(202);
    ids.push(first.json().id);
    await untilReady(first.json().id);
    await refusedAtCap(
      "/deploy",
      { model: "sim-caps-b", runtime: "sim", replicas: 2 },
      { status: 409, cap: "worker_processes", value: 3, field: "replicas" },
    );
    const second = await inject("POST", "/deploy", { model: "sim-caps-b", runtime: "sim", replicas: 1 });
    expect(second.statusCode, second.body).toBe(202);
    ids.push(second.json().id);
    await untilReady(second.json().id);
  }, 120_000);

  it("refuses a deployment past the deployment cap", async () => {
    await refusedAtCap(
      "/deploy",
      { model: "sim-caps-c", runtime: "sim" },
      { status: 409, cap: "deployments", value: 2 },
    );
  });

  it("counts only what runs: after a delete there is room again", async () => {
    const gone = await inject("DELETE", `/deployments/${ids.pop()}`);
    expect(gone.statusCode).toBe(200);
    expect((await t.local.list()).length).toBe(1);
  });

  it("refuses a run past the concurrent-run cap with 429, storing nothing", async () => {
    const dep = await untilReady(ids[0]!);
    // A run long enough to still be running when the second one asks.
    const long = await inject("POST", "/benchmarks/run", {
      model: "sim-caps",
      runtimes: ["sim"],
      targets: { sim: dep.endpoints[0] },
      workloads: [{ name: "long", qps: 1, duration_s: 60, prompt_len: 8, gen_tokens: 4 }],
    });
    expect(long.statusCode, long.body).toBe(202);
    await refusedAtCap(
      "/benchmarks/run",
      {
        model: "sim-caps",
        runtimes: ["sim"],
        workloads: [{ name: "w", qps: 10, num_requests: 2, prompt_len: 8, gen_tokens: 4 }],
      },
      { status: 429, cap: "concurrent_runs", value: 1 },
    );
    const cancelled = await inject("POST", `/benchmarks/${long.json().id}/cancel`);
    expect(cancelled.json().status).toBe("cancelled");
    // The ended run frees its room.
    const next = await inject("POST", "/benchmarks/run", {
      model: "sim-caps",
      runtimes: ["sim"],
      targets: { sim: dep.endpoints[0] },
      workloads: [{ name: "w", qps: 10, num_requests: 2, prompt_len: 8, gen_tokens: 4 }],
    });
    expect(next.statusCode, next.body).toBe(202);
  }, 120_000);
});
