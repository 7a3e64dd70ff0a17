/**
 * Types only: the deployment backend seam. A backend turns a deployment spec (model, runtime,
 * quant, replicas, resources) into running workers and reports their state; `local` runs worker
 * processes on this machine, `kubernetes` creates a Deployment and a Service per deployment.
 */
import type { SettingWarning } from "./runtime.js";

export type DeploymentTarget = "local" | "kubernetes";

export interface Resources {
  gpus?: number;
  /** Kubernetes quantity, e.g. "4" or "500m". */
  cpu?: string;
  /** Kubernetes quantity, e.g. "16Gi". */
  memory?: string;
}

export interface DeploymentSpec {
  /** Unique id the platform assigns (also the Kubernetes object name stem). */
  id: string;
  /** Model reference: `synthetic:<preset>`, a GGUF path, or a Hugging Face id for engines that download. */
  model: string;
  /** Runtime name from the registry (llamacpp, vllm, transformers, …). */
  runtime: string;
  /** Quantization the runtime should serve, e.g. "q8_0", "fp16", "awq"; runtime-specific. */
  quant?: string;
  replicas: number;
  resources: Resources;
  target: DeploymentTarget;
  /** Extra engine arguments, allow-listed by the runtime. */
  engineArgs: string[];
}

/** pending → starting → ready | failed → stopped */
export type DeploymentState = "pending" | "starting" | "ready" | "failed" | "stopped";

export interface DeploymentEvent {
  /** ISO time. */
  at: string;
  kind: "created" | "starting" | "ready" | "crashed" | "restarting" | "failed" | "stopping" | "stopped";
  message: string;
  replica?: number;
}

/** Why a replica failed for good. */
export interface ReplicaFailure {
  /**
   * `not-started`: its command could not be run (not installed); `load-failed`: the worker said
   * so on `/health`; `not-ready-in-time`; `exited`: it exited (or crashed) until restarts ran out.
   */
  kind: "not-started" | "load-failed" | "not-ready-in-time" | "exited";
  message: string;
}

export interface ReplicaStatus {
  index: number;
  state: DeploymentState;
  /** Base URL of the worker protocol, when it is known. */
  endpoint?: string;
  restarts: number;
  pid?: number;
  failure?: ReplicaFailure;
}

export interface DeploymentStatus {
  id: string;
  state: DeploymentState;
  replicas: ReplicaStatus[];
  /** Endpoints of ready replicas, for routing. */
  endpoints: string[];
  events: DeploymentEvent[];
  lastError?: string;
  /** Settings of the spec the runtime or the backend could not honour as asked. */
  warnings?: SettingWarning[];
}

export interface DeploymentBackend {
  readonly target: DeploymentTarget;
  /** Starts creating; returns at once with the status so far (pending or starting). */
  create(spec: DeploymentSpec): Promise<DeploymentStatus>;
  get(id: string): Promise<DeploymentStatus | undefined>;
  list(): Promise<DeploymentStatus[]>;
  /** Removes everything the deployment created; a second delete is a not_found error. */
  delete(id: string): Promise<void>;
  /** Stops every deployment (gateway shutdown): no worker process remains. */
  close(): Promise<void>;
}
