/**
 * A worker on Kubernetes whose model failed to load stays alive and answers /health 503
 * "failed"; with pod health read (a gateway inside the cluster), the deployment is failed at once
 * with the worker's own reason instead of "starting" until the startup budget runs out.
 * The pod's address is a loopback alias with a stand-in worker on the container port.
 */
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubernetesBackend } from "../../src/control/kubernetes/backend.js";
import { WORKER_PORT } from "../../src/control/kubernetes/containers.js";
import { llamaCppRuntime } from "../../src/runtimes/llamacpp/index.js";
import { RuntimeRegistry } from "../../src/runtimes/registry.js";
import type { DeploymentSpec } from "../../src/spec/deployment.js";
import { type FakeKubeApi, podStatus, startFakeKubeApi } from "../helpers/fake-kube-api.js";

const POD_IP = "127.0.0.77";
const NS = "pods";
const runtimes = new RuntimeRegistry([llamaCppRuntime({ command: "tokenforge", args: [] })]);

/** A stand-in worker on POD_IP:WORKER_PORT whose load failed; undefined where that address cannot be bound. */
async function failedWorker(): Promise<Server | undefined> {
  const server = createServer((_req, res) => {
    res.writeHead(503, { "content-type": "application/json" });
    res.end(JSON.stringify({ status: "failed", error: "out of memory loading weights" }));
  });
  return new Promise((resolve) => {
    server.once("error", () => resolve(undefined));
    server.listen(WORKER_PORT, POD_IP, () => resolve(server));
  });
}

const spec = (id: string): DeploymentSpec => ({
  id,
  model: "synthetic:tiny",
  runtime: "llamacpp",
  replicas: 1,
  resources: {},
  target: "kubernetes",
  engineArgs: [],
});

let api: FakeKubeApi;
let worker: Server | undefined;

beforeAll(async () => {
  api = await startFakeKubeApi();
  worker = await failedWorker();
});
afterAll(async () => {
  await api.close();
  await new Promise((r) => (worker ? worker.close(r) : r(undefined)));
});

/** Creates deployment `id` with one running pod at POD_IP that is not ready yet; returns its status. */
async function startingDeployment(id: string, readPodHealth: boolean) {
  const backend = new KubernetesBackend({
    runtimes,
    kubeConfig: api.kubeConfig(NS),
    version: "0.0.0",
    statusCacheMs: 0,
    readPodHealth,
  });
  await backend.create(spec(id));
  api.addPod(NS, `tf-${id}`, podStatus.running(false, POD_IP));
  return backend.get(id);
}

describe("kubernetes: a failed load read from the pod's /health", () => {
  it("fails the deployment with the worker's reason", async (ctx) => {
    if (worker === undefined) ctx.skip(`cannot bind ${POD_IP}:${WORKER_PORT} for the stand-in worker`);
    const status = await startingDeployment("loadfail", true);
    expect(status?.state).toBe("failed");
    expect(status?.lastError).toContain("out of memory loading weights");
    expect(status?.replicas[0]?.failure?.kind).toBe("load-failed");
  });

  it("leaves a starting pod starting when pod health is not read", async (ctx) => {
    if (worker === undefined) ctx.skip(`cannot bind ${POD_IP}:${WORKER_PORT} for the stand-in worker`);
    expect((await startingDeployment("unread", false))?.state).toBe("starting");
  });
});
