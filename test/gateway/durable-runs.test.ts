/**
 * A run survives its gateway: a real `tokenforge serve` runs a two-workload benchmark on a sim
 * deployment it makes for itself, is killed with SIGKILL during the second workload, and the next
 * gateway on the same data directory marks the run interrupted with the first workload's result
 * kept, removes the run's deployment instead of restoring it, and resumes the rest on request.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI } from "../helpers/gateway.js";
import { killServe, listening, type ServeProcess, startServe } from "../helpers/serve-process.js";
import { waitFor } from "../helpers/wait-for.js";

let dir: string;
const gateways: ServeProcess[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "tokenforge-durable-"));
});
afterAll(async () => {
  await Promise.all(gateways.map((g) => killServe(g, "SIGTERM")));
  rmSync(dir, { recursive: true, force: true });
});

interface RunView {
  status: string;
  error?: string;
  results: { workload: string; runtime: string; metrics: { counts: { ok: number } } }[];
}

const serve = async (): Promise<string> => {
  const g = startServe(join(dir, "data"), join(dir, "work"));
  gateways.push(g);
  return listening(g);
};

async function runWhen(address: string, id: string, done: (r: RunView) => boolean): Promise<RunView> {
  let last = "";
  return waitFor(
    async () => {
      const r = (await (await fetch(`${address}/benchmarks/${id}`)).json()) as RunView;
      last = JSON.stringify({ status: r.status, error: r.error, results: r.results.length });
      return done(r) ? r : undefined;
    },
    { what: `run ${id}`, timeoutMs: 90_000, intervalMs: 100, detail: () => last },
  );
}

describe("a run across a gateway killed with SIGKILL", () => {
  it("is interrupted with its finished workload kept, loses its deployment, and resumes to complete", async () => {
    const first = await serve();
    const res = await fetch(`${first}/benchmarks/run`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "sim-durable",
        runtimes: ["sim"],
        seed: 5,
        workloads: [
          { name: "quick", qps: "inf", num_requests: 6, prompt_len: 8, gen_tokens: 4 },
          { name: "long", qps: 3, num_requests: 60, prompt_len: 8, gen_tokens: 4 },
        ],
      }),
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const before = await runWhen(first, id, (r) => r.results.length >= 1);
    expect(before.status).toBe("running");
    expect(before.results.map((r) => r.workload)).toEqual(["quick"]);
    await killServe(gateways[0]!, "SIGKILL");

    const second = await serve();
    const interrupted = (await (await fetch(`${second}/benchmarks/${id}`)).json()) as RunView;
    expect(interrupted.status).toBe("interrupted");
    expect(interrupted.error).toContain("1 of 2");
    expect(interrupted.results.map((r) => r.workload)).toEqual(["quick"]);
    const deployments = (await (await fetch(`${second}/deployments`)).json()) as { model: string }[];
    expect(deployments.filter((d) => d.model === "sim-durable")).toEqual([]);
    // Only an interrupted run resumes, once; the CLI asks the gateway for it.
    const resumed = spawnSync(
      process.execPath,
      ["--import", "tsx", CLI, "runs", "resume", id, "--server", second],
      {
        encoding: "utf8",
      },
    );
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stdout).toBe(`${id}: queued\n`);
    const again = await fetch(`${second}/benchmarks/${id}/resume`, { method: "POST" });
    expect(again.status).toBe(400);

    const done = await runWhen(second, id, (r) => r.status !== "queued" && r.status !== "running");
    expect(done.status).toBe("complete");
    expect(done.results.map((r) => r.workload).sort()).toEqual(["long", "quick"]);
    expect(done.results.find((r) => r.workload === "long")?.metrics.counts.ok).toBe(60);
    expect(done.results.find((r) => r.workload === "quick")).toEqual(
      interrupted.results.find((r) => r.workload === "quick"),
    );
    // The traces of the attempt cut short are gone: one line per request of the pairs that count.
    const lines = readFileSync(join(dir, "work", "results", "gateway", id, "requests.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { workload: string }).workload);
    expect(lines.filter((w) => w === "quick")).toHaveLength(6);
    expect(lines.filter((w) => w === "long")).toHaveLength(60);
  }, 180_000);
});
