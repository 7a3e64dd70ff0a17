/**
 * The container a deployment runs in on Kubernetes, as its runtime describes it (the runtime's
 * `container`), in the Kubernetes API's terms: image, arguments, environment, the path its model
 * cache lives at, and where its health and metrics are. A runtime without a container cannot be
 * deployed here, and the error names the ones that can.
 */
import type { V1EnvVar } from "@kubernetes/client-node";
import { TokenForgeError } from "../../errors.js";
import type { RuntimeRegistry } from "../../runtimes/registry.js";
import type { DeploymentSpec } from "../../spec/deployment.js";
import type { ContainerEnvVar, SettingWarning } from "../../spec/runtime.js";

/** Port every worker container listens on, named `http` in the pod and the Service. */
export const WORKER_PORT = 8000;

/** What a runtime needs from its pod. */
export interface ContainerPlan {
  image: string;
  /** Overrides the image's entrypoint when set. */
  command?: string[];
  args: string[];
  env: V1EnvVar[];
  /** Where the engine keeps models (downloads, synthetic GGUFs); the model-cache volume mounts here. */
  cachePath: string;
  /** The runtime's health path: 200 once the model is loaded (startup, readiness and liveness probes). */
  healthPath: string;
  /** The runtime's Prometheus exposition, for the scrape annotations. */
  metricsPath: string;
  /** Knobs the runtime could not honour as asked; stored with the deployment, never dropped silently. */
  warnings: SettingWarning[];
}

export interface ContainerOptions {
  /** TokenForge's version: the worker image's default tag. */
  version: string;
  /** Image of `tokenforge worker`; default `ghcr.io/tokenforge/worker:<version>`. */
  workerImage?: string;
  /** Images by runtime name, replacing a runtime's default (e.g. a CPU build of an engine). */
  images?: Readonly<Record<string, string>>;
  /**
   * Secret holding a Hugging Face token for engines that download (optional in the pod: a missing
   * Secret leaves the variable unset). Default `{ name: "hf-token", key: "token" }`; null for none.
   */
  hfTokenSecret?: { name: string; key: string } | null;
}

export const DEFAULT_HF_SECRET = { name: "hf-token", key: "token" } as const;

/** The container for `spec.runtime`; `invalid_request` naming the field for what cannot run. */
export function containerPlan(
  spec: DeploymentSpec,
  runtimes: RuntimeRegistry,
  options: ContainerOptions,
): ContainerPlan {
  const runtime = runtimes.get(spec.runtime, "runtime");
  if (runtime.container === undefined) {
    throw new TokenForgeError(
      "invalid_request",
      `runtime "${spec.runtime}" has no Kubernetes container plan; runtimes with one: ${runtimes.containerNames().join(", ")}`,
      { field: "runtime" },
    );
  }
  const image = options.images?.[spec.runtime];
  const c = runtime.container(
    { model: spec.model, quant: spec.quant, extraArgs: spec.engineArgs, resources: spec.resources },
    {
      port: WORKER_PORT,
      workerImage: options.workerImage ?? `ghcr.io/tokenforge/worker:${options.version}`,
      ...(image === undefined ? {} : { image }),
      hfTokenSecret: options.hfTokenSecret === undefined ? DEFAULT_HF_SECRET : options.hfTokenSecret,
    },
  );
  return {
    image: c.image,
    ...(c.command === undefined ? {} : { command: c.command }),
    args: c.args,
    env: c.env.map(envVar),
    cachePath: c.cachePath,
    healthPath: runtime.health.path,
    metricsPath: runtime.metrics?.path ?? "/metrics",
    warnings: c.warnings,
  };
}

function envVar(v: ContainerEnvVar): V1EnvVar {
  return "secret" in v
    ? {
        name: v.name,
        valueFrom: { secretKeyRef: { name: v.secret.name, key: v.secret.key, optional: true } },
      }
    : { name: v.name, value: v.value };
}
