/**
 * What Kubernetes cannot see: a worker whose model failed to load stays alive and answers
 * `/health` 503 "failed", which the probes read as "not ready yet" until the startup budget runs
 * out. When the gateway can reach pod addresses (it runs in the cluster), a starting pod's
 * `/health` is read through the runtime's contract with the same poller as the local backend, and
 * a failed load fails the deployment at once with the worker's own reason.
 */
import type { DeploymentStatus } from "../../spec/deployment.js";
import type { HealthContract } from "../../spec/runtime.js";
import { checkHealth } from "../health.js";

/** Marks replicas whose worker says its load failed; the deployment fails with the first reason. */
export async function withFailedLoads(
  status: DeploymentStatus,
  contract: HealthContract,
  timeoutMs: number,
): Promise<DeploymentStatus> {
  const starting = status.replicas.filter((r) => r.state === "starting" && r.endpoint !== undefined);
  const checks = await Promise.all(starting.map((r) => checkHealth(r.endpoint!, contract, { timeoutMs })));
  const now = new Date().toISOString();
  starting.forEach((replica, i) => {
    const check = checks[i]!;
    if (check.state !== "failed") return;
    const message = `replica ${replica.index} (${replica.endpoint}) failed to load: ${check.reason}`;
    replica.state = "failed";
    replica.failure = { kind: "load-failed", message };
    status.events.push({ at: now, kind: "failed", message, replica: replica.index });
    if (status.state !== "ready" && status.state !== "stopped") {
      status.state = "failed";
      status.lastError ??= message;
    }
  });
  return status;
}
