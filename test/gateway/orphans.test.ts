/**
 * No worker outlives its gateway: a real `tokenforge serve` deploys a sim worker, is killed with
 * SIGKILL (no shutdown code runs), and the worker and its process group go within seconds. A new
 * gateway on the same data directory then takes over the stale lock and restarts the stored
 * deployment once, on a fresh worker.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { processAlive } from "../helpers/fake-worker.js";
import { killServe, listening, type ServeProcess, startServe } from "../helpers/serve-process.js";
import { waitFor } from "../helpers/wait-for.js";

let dir: string;
const gateways: ServeProcess[] = [];
const workers: number[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "tokenforge-orphans-"));
});

afterAll(async () => {
  await Promise.all(gateways.map((g) => killServe(g, "SIGTERM")));
  // Whatever a failed test left behind goes, so that the check below cannot hide a leak.
  const left = workers.filter(processAlive);
  for (const pid of left) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // Gone.
    }
  }
  rmSync(dir, { recursive: true, force: true });
  expect(left).toEqual([]);
});

interface DeploymentView {
  status: string;
  last_error?: string;
  events: { kind: string; message: string }[];
}

async function deploymentWhen(address: string, id: string, done: (d: DeploymentView) => boolean) {
  let last = "";
  return waitFor(
    async () => {
      const d = (await (await fetch(`${address}/deployments/${id}`)).json()) as DeploymentView;
      last = JSON.stringify(d);
      if (d.status === "failed") throw new Error(`deployment failed: ${d.last_error}`);
      return done(d) ? d : undefined;
    },
    { what: `deployment ${id}`, timeoutMs: 60_000, intervalMs: 100, detail: () => last },
  );
}

/** The pids of the replica's workers, from its `starting` events ("replica 0: pid 123 on …"). */
function workerPids(d: DeploymentView): number[] {
  return d.events
    .filter((e) => e.kind === "starting")
    .map((e) => Number(/\bpid (\d+)\b/.exec(e.message)?.[1]))
    .filter((pid) => Number.isInteger(pid));
}

const groupGone = (pid: number) => {
  try {
    process.kill(-pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
};

describe("a gateway killed with SIGKILL", () => {
  let dataDir: string;
  let id: string;
  let firstWorker: number;

  it("takes its workers with it", async () => {
    dataDir = join(dir, "data");
    const gateway = startServe(dataDir, dir);
    gateways.push(gateway);
    const address = await listening(gateway);

    const res = await fetch(`${address}/deploy`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "synthetic:tiny", runtime: "sim" }),
    });
    expect(res.status).toBe(202);
    id = ((await res.json()) as { id: string }).id;
    const ready = await deploymentWhen(address, id, (d) => d.status === "ready");
    const pids = workerPids(ready);
    expect(pids).toHaveLength(1);
    firstWorker = pids[0]!;
    workers.push(firstWorker);
    expect(processAlive(firstWorker)).toBe(true);

    await killServe(gateway, "SIGKILL");
    await waitFor(() => !processAlive(firstWorker) && groupGone(firstWorker), {
      what: `worker ${firstWorker} and its process group to be gone after the gateway was killed`,
      timeoutMs: 15_000,
      intervalMs: 50,
    });
  }, 120_000);

  it("leaves a stale lock that the next gateway takes over, restarting the stored deployment once", async () => {
    const gateway = startServe(dataDir, dir);
    gateways.push(gateway);
    const address = await listening(gateway);
    expect(gateway.stderr()).toContain(`took over the lock on ${dataDir} from pid ${gateways[0]!.pid}`);
    expect(gateway.stderr()).toContain(`restarting 1 stored deployment(s): ${id}`);

    const ready = await deploymentWhen(address, id, (d) => d.status === "ready");
    const pids = workerPids(ready);
    expect(pids).toHaveLength(1);
    workers.push(...pids);
    expect(pids[0]).not.toBe(firstWorker);

    // A graceful stop ends the worker too, and releases the lock.
    await killServe(gateway, "SIGTERM");
    expect((await gateway.exited).code).toBe(0);
    await waitFor(() => !processAlive(pids[0]!), { what: `worker ${pids[0]} to be gone` });
  }, 120_000);
});
