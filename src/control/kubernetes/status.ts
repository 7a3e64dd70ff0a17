/**
 * A deployment's state, read from what Kubernetes reports: the Deployment's replica counts and
 * conditions, and its pods' container statuses. Pure: objects in, DeploymentStatus out. Events are
 * rebuilt from the objects' timestamps each time (Kubernetes keeps the state, not a log).
 */
import type { V1Deployment, V1Pod } from "@kubernetes/client-node";
import type {
  DeploymentEvent,
  DeploymentState,
  DeploymentStatus,
  ReplicaStatus,
} from "../../spec/deployment.js";
import { WORKER_PORT } from "./containers.js";

/** Waiting reasons that do not clear up by waiting: the deployment has failed until someone acts. */
export const FAILED_WAITING_REASONS: readonly string[] = [
  "CrashLoopBackOff",
  "ImagePullBackOff",
  "ErrImagePull",
  "InvalidImageName",
  "ErrImageNeverPull",
  "CreateContainerConfigError",
  "CreateContainerError",
  "RunContainerError",
];

interface Replica {
  status: ReplicaStatus;
  /** Why this replica failed, when it did. */
  failure?: string;
  events: DeploymentEvent[];
}

function iso(t: Date | string | undefined): string | undefined {
  if (t === undefined) return undefined;
  const d = t instanceof Date ? t : new Date(t);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

function event(
  at: Date | string | undefined,
  kind: DeploymentEvent["kind"],
  message: string,
  replica?: number,
): DeploymentEvent[] {
  const time = iso(at);
  if (time === undefined) return [];
  return [{ at: time, kind, message, ...(replica === undefined ? {} : { replica }) }];
}

function replicaOf(pod: V1Pod, index: number): Replica {
  const name = pod.metadata?.name ?? `replica ${index}`;
  const conditions = pod.status?.conditions ?? [];
  const cs =
    pod.status?.containerStatuses?.find((c) => c.name === "worker") ?? pod.status?.containerStatuses?.[0];
  const restarts = cs?.restartCount ?? 0;
  const ip = pod.status?.podIP;
  const base: ReplicaStatus = {
    index,
    state: "pending",
    restarts,
    ...(ip ? { endpoint: `http://${ip}:${WORKER_PORT}` } : {}),
  };
  const events: DeploymentEvent[] = [];
  const last = cs?.lastState?.terminated;
  if (last) {
    const why = `${name}: exited ${last.exitCode}${last.reason ? ` (${last.reason})` : ""}${last.message ? `: ${last.message}` : ""}`;
    events.push(...event(last.finishedAt, "crashed", why, index));
  }
  const running = cs?.state?.running;
  if (running) {
    events.push(
      ...event(running.startedAt, restarts > 0 ? "restarting" : "starting", `${name} started`, index),
    );
  }

  const waiting = cs?.state?.waiting;
  if (waiting?.reason && FAILED_WAITING_REASONS.includes(waiting.reason)) {
    const failure = `${name}: ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ""}`;
    return { status: { ...base, state: "failed" }, failure, events };
  }
  if (pod.status?.phase === "Failed") {
    const failure = `${name}: pod failed${pod.status.reason ? ` (${pod.status.reason})` : ""}${pod.status.message ? `: ${pod.status.message}` : ""}`;
    return { status: { ...base, state: "failed" }, failure, events };
  }
  const ready = conditions.find((c) => c.type === "Ready");
  if (ready?.status === "True") {
    events.push(...event(ready.lastTransitionTime, "ready", `${name} ready`, index));
    return { status: { ...base, state: "ready" }, events };
  }
  const unschedulable = conditions.find((c) => c.type === "PodScheduled" && c.status === "False");
  if (unschedulable) {
    const why = `${name} not scheduled${unschedulable.reason ? ` (${unschedulable.reason})` : ""}${unschedulable.message ? `: ${unschedulable.message}` : ""}`;
    events.push(
      ...event(unschedulable.lastTransitionTime ?? pod.metadata?.creationTimestamp, "created", why, index),
    );
  }
  // Running but not yet ready: the engine is loading its model (the startup probe's window).
  return { status: { ...base, state: running ? "starting" : "pending" }, events };
}

function byAge(a: V1Pod, b: V1Pod): number {
  const ta = iso(a.metadata?.creationTimestamp) ?? "";
  const tb = iso(b.metadata?.creationTimestamp) ?? "";
  return ta === tb ? (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? "") : ta.localeCompare(tb);
}

/** Status of deployment `id` from its Deployment, its pods and (when it exists) its Service URL. */
export function deploymentStatus(
  id: string,
  deployment: V1Deployment,
  pods: readonly V1Pod[],
  serviceUrl: string | undefined,
  /** When a failure with no timestamp of its own is seen. */
  now: Date = new Date(),
): DeploymentStatus {
  const desired = deployment.spec?.replicas ?? 1;
  const st = deployment.status ?? {};
  const readyCount = st.readyReplicas ?? 0;
  const live = pods.filter((p) => p.metadata?.deletionTimestamp === undefined).sort(byAge);
  const replicas = live.map(replicaOf);
  const events: DeploymentEvent[] = [
    ...event(
      deployment.metadata?.creationTimestamp,
      "created",
      `Deployment ${deployment.metadata?.name} created`,
    ),
    ...replicas.flatMap((r) => r.events),
  ];

  const conditions = st.conditions ?? [];
  const deadline = conditions.find(
    (c) => c.type === "Progressing" && c.status === "False" && c.reason === "ProgressDeadlineExceeded",
  );
  const replicaFailure = conditions.find((c) => c.type === "ReplicaFailure" && c.status === "True");
  const podFailure = replicas.find((r) => r.failure !== undefined)?.failure;

  let state: DeploymentState;
  let lastError: string | undefined;
  if (deployment.metadata?.deletionTimestamp !== undefined) {
    state = "stopped";
    events.push(...event(deployment.metadata.deletionTimestamp, "stopping", "deletion requested"));
  } else if (desired === 0) {
    state = "stopped";
  } else if (readyCount >= desired) {
    state = "ready";
  } else if (deadline || replicaFailure || podFailure) {
    state = "failed";
    lastError =
      podFailure ??
      `${deadline ? "ProgressDeadlineExceeded" : (replicaFailure?.reason ?? "ReplicaFailure")}: ${(deadline ?? replicaFailure)?.message ?? "no message"}`;
    const at = (deadline ?? replicaFailure)?.lastTransitionTime ?? now;
    events.push(...event(at, "failed", lastError));
  } else if (replicas.some((r) => r.status.state === "starting" || r.status.state === "ready")) {
    state = "starting";
  } else {
    state = "pending";
  }

  events.sort((a, b) => a.at.localeCompare(b.at));
  return {
    id,
    state,
    replicas: replicas.map((r) => r.status),
    // The Service only routes to ready pods, so it is an endpoint as soon as one is ready.
    endpoints: serviceUrl !== undefined && readyCount > 0 && state !== "stopped" ? [serviceUrl] : [],
    events,
    ...(lastError === undefined ? {} : { lastError }),
  };
}
