/**
 * The local backend as the deployment-backend suite and test/control/local.test.ts drive it: fast
 * health probes, a short stop grace and quick restarts, with the stand-in worker process
 * (test/helpers/fake-worker.ts) as the runtime.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalBackend, type LocalBackendOptions } from "../../src/control/local/index.js";
import { RuntimeRegistry } from "../../src/runtimes/registry.js";
import type { DeploymentSpec, DeploymentStatus } from "../../src/spec/deployment.js";
import { fakeRuntime, processAlive, recordedPids } from "../helpers/fake-worker.js";
import { waitFor } from "../helpers/wait-for.js";
import type { BackendTarget } from "./deployment-backend.js";

/** Settings that keep tests fast: probes every 25 ms, 500 ms before SIGKILL, restarts from 50 ms. */
export const FAST: Omit<LocalBackendOptions, "runtimes"> = {
  healthIntervalMs: 25,
  stopGraceMs: 500,
  readyTimeoutMs: 10_000,
  restart: { initialDelayMs: 50, maxDelayMs: 400, maxRestarts: 3 },
};

/** A spec for the stand-in runtime ("fake"), less the id. */
export const FAKE_SPEC: Omit<DeploymentSpec, "id"> = {
  model: "fake-model",
  runtime: "fake",
  replicas: 1,
  resources: {},
  target: "local",
  engineArgs: [],
};

/** The deployment's status once `done` holds for it. */
export async function statusWhen(
  backend: LocalBackend,
  id: string,
  done: (s: DeploymentStatus) => boolean,
  timeoutMs = 15_000,
): Promise<DeploymentStatus> {
  let last: DeploymentStatus | undefined;
  return waitFor(
    async () => {
      last = await backend.get(id);
      return last && done(last) ? last : undefined;
    },
    {
      what: `deployment "${id}" to reach the state awaited`,
      timeoutMs,
      detail: () => JSON.stringify(last, null, 2),
    },
  );
}

/** A local backend over the stand-in worker, in a temporary directory of its own. */
export async function localTarget(): Promise<BackendTarget> {
  const dir = mkdtempSync(join(tmpdir(), "tokenforge-local-conformance-"));
  const pidFile = join(dir, "pids.txt");
  const runtime = fakeRuntime({ pidFile });
  const backend = new LocalBackend({ runtimes: new RuntimeRegistry([runtime]), ...FAST });
  return {
    backend,
    base: FAKE_SPEC,
    makeReady: (id) => statusWhen(backend, id, (s) => s.state === "ready"),
    actions: () => Array.from({ length: runtime.starts() }, (_, i) => `worker process #${i} started`),
    remains: async () =>
      recordedPids(pidFile)
        .filter(processAlive)
        .map((pid) => `process ${pid}`)
        .sort(),
    close: async () => {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
