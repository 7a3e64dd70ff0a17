/**
 * Pure functions from a deployment spec to the objects the Kubernetes backend creates: an apps/v1
 * Deployment (probes on /health, GPU resources, memory-backed /dev/shm, a model-cache volume) and
 * a v1 Service in front of its pods. Plain objects: no API calls, no clock.
 */
import type { V1Container, V1Deployment, V1Probe, V1Service, V1Volume } from "@kubernetes/client-node";
import { TokenForgeError } from "../../errors.js";
import type { DeploymentSpec } from "../../spec/deployment.js";
import { type ContainerPlan, WORKER_PORT } from "./containers.js";
import {
  ANNOTATION,
  isDns1123Label,
  isDns1123Subdomain,
  objectLabels,
  objectName,
  podSelector,
} from "./names.js";

export interface ManifestOptions {
  namespace: string;
  /**
   * How long a container may take to answer /health before Kubernetes restarts it: model loading
   * (downloads included) happens inside this. Default 1800 s (180 startup probes, 10 s apart).
   */
  startupBudgetSeconds?: number;
  /** sizeLimit of the memory-backed /dev/shm; default "2Gi". It counts against the pod's memory. */
  shmSizeLimit?: string;
  /** PersistentVolumeClaim for the model cache (shared across restarts); default an emptyDir. */
  modelCachePvc?: string;
  /** Extended resource name for GPUs; default "nvidia.com/gpu". */
  gpuResource?: string;
}

export const DEFAULTS = {
  startupBudgetSeconds: 1800,
  shmSizeLimit: "2Gi",
  gpuResource: "nvidia.com/gpu",
} as const;

const STARTUP_PERIOD_SECONDS = 10;
const CONTAINER = "worker";
/** Kubernetes quantities as the API server accepts them (decimal or binary SI suffix, or an exponent). */
const QUANTITY = /^[+]?(\d+(\.\d*)?|\.\d+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+)?$/;
const RESOURCE_NAME = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

interface Problem {
  field: string;
  message: string;
}

/** Checks everything the manifests depend on; every problem at once, the first one's field named. */
export function validateForKubernetes(spec: DeploymentSpec, options: ManifestOptions): void {
  const problems: Problem[] = [];
  const add = (field: string, message: string): void => {
    problems.push({ field, message });
  };
  if (typeof spec.id !== "string" || !/[A-Za-z0-9]/.test(spec.id)) {
    add("id", `id "${spec.id}" needs at least one letter or digit to build a Kubernetes name from`);
  }
  if (typeof spec.model !== "string" || spec.model.trim() === "") add("model", "model is empty");
  if (spec.target !== "kubernetes")
    add("target", `target must be "kubernetes" on this backend, got "${spec.target}"`);
  if (!Number.isSafeInteger(spec.replicas) || spec.replicas < 0) {
    add("replicas", `replicas must be a whole number ≥ 0, got ${spec.replicas}`);
  }
  const { gpus, cpu, memory } = spec.resources ?? {};
  if (gpus !== undefined && (!Number.isSafeInteger(gpus) || gpus < 0)) {
    add("resources.gpus", `gpus must be a whole number ≥ 0, got ${gpus}`);
  }
  for (const [field, value] of [
    ["resources.cpu", cpu],
    ["resources.memory", memory],
  ] as const) {
    if (value !== undefined && !QUANTITY.test(value)) {
      add(field, `"${value}" is not a Kubernetes quantity (e.g. "4", "500m", "16Gi")`);
    }
  }
  if (!isDns1123Label(options.namespace)) {
    add("namespace", `namespace "${options.namespace}" is not a DNS-1123 label (lower-case a-z, 0-9, "-")`);
  }
  const budget = options.startupBudgetSeconds;
  if (budget !== undefined && (!Number.isSafeInteger(budget) || budget < STARTUP_PERIOD_SECONDS)) {
    add("startupBudgetSeconds", `startupBudgetSeconds must be a whole number ≥ ${STARTUP_PERIOD_SECONDS}`);
  }
  if (options.shmSizeLimit !== undefined && !QUANTITY.test(options.shmSizeLimit)) {
    add("shmSizeLimit", `"${options.shmSizeLimit}" is not a Kubernetes quantity (e.g. "2Gi")`);
  }
  if (options.modelCachePvc !== undefined && !isDns1123Subdomain(options.modelCachePvc)) {
    add("modelCachePvc", `"${options.modelCachePvc}" is not a valid PersistentVolumeClaim name`);
  }
  if (options.gpuResource !== undefined && !RESOURCE_NAME.test(options.gpuResource)) {
    add("gpuResource", `"${options.gpuResource}" is not a resource name (e.g. "nvidia.com/gpu")`);
  }
  const first = problems[0];
  if (first) {
    throw new TokenForgeError("invalid_request", problems.map((p) => `${p.field}: ${p.message}`).join("; "), {
      field: first.field,
    });
  }
}

function metadata(spec: DeploymentSpec, options: ManifestOptions) {
  return {
    name: objectName(spec.id),
    namespace: options.namespace,
    labels: objectLabels(spec.id, spec.runtime),
    annotations: { [ANNOTATION.id]: spec.id, [ANNOTATION.model]: spec.model },
  };
}

function healthProbe(
  path: string,
  periodSeconds: number,
  failureThreshold: number,
  timeoutSeconds: number,
): V1Probe {
  return {
    httpGet: { path, port: "http" },
    periodSeconds,
    failureThreshold,
    timeoutSeconds,
  };
}

function container(spec: DeploymentSpec, plan: ContainerPlan, options: ManifestOptions): V1Container {
  const gpus = spec.resources.gpus ?? 0;
  const budget = options.startupBudgetSeconds ?? DEFAULTS.startupBudgetSeconds;
  const fixed: Record<string, string> = {};
  if (spec.resources.cpu !== undefined) fixed.cpu = spec.resources.cpu;
  if (spec.resources.memory !== undefined) fixed.memory = spec.resources.memory;
  if (gpus > 0) fixed[options.gpuResource ?? DEFAULTS.gpuResource] = String(gpus);
  return {
    name: CONTAINER,
    image: plan.image,
    ...(plan.command ? { command: plan.command } : {}),
    args: plan.args,
    ports: [{ name: "http", containerPort: WORKER_PORT, protocol: "TCP" }],
    env: [{ name: "TOKENFORGE_DEPLOYMENT_ID", value: spec.id }, ...plan.env],
    // Requests equal to limits: the pod's share is what a benchmark measured, not what was spare.
    ...(Object.keys(fixed).length > 0 ? { resources: { requests: fixed, limits: { ...fixed } } } : {}),
    startupProbe: healthProbe(
      plan.healthPath,
      STARTUP_PERIOD_SECONDS,
      Math.ceil(budget / STARTUP_PERIOD_SECONDS),
      5,
    ),
    readinessProbe: healthProbe(plan.healthPath, 5, 3, 5),
    // Generous: a saturated engine answers /health late, and a restart costs a model load.
    livenessProbe: healthProbe(plan.healthPath, 15, 4, 10),
    volumeMounts: [
      { name: "dshm", mountPath: "/dev/shm" },
      { name: "model-cache", mountPath: plan.cachePath },
    ],
  };
}

function volumes(options: ManifestOptions): V1Volume[] {
  return [
    // Engines share tensors between processes through /dev/shm; the runtime's default is 64 MiB.
    {
      name: "dshm",
      emptyDir: { medium: "Memory", sizeLimit: options.shmSizeLimit ?? DEFAULTS.shmSizeLimit },
    },
    options.modelCachePvc !== undefined
      ? { name: "model-cache", persistentVolumeClaim: { claimName: options.modelCachePvc } }
      : { name: "model-cache", emptyDir: {} },
  ];
}

/** The apps/v1 Deployment running `spec.replicas` workers of `plan`. */
export function deploymentManifest(
  spec: DeploymentSpec,
  plan: ContainerPlan,
  options: ManifestOptions,
): V1Deployment {
  validateForKubernetes(spec, options);
  const meta = metadata(spec, options);
  const gpus = spec.resources.gpus ?? 0;
  const gpuResource = options.gpuResource ?? DEFAULTS.gpuResource;
  const budget = options.startupBudgetSeconds ?? DEFAULTS.startupBudgetSeconds;
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: meta,
    spec: {
      replicas: spec.replicas,
      selector: { matchLabels: podSelector(spec.id) },
      // Past the startup budget the probes restart the container; until then a slow model load
      // must not read as a stalled rollout (the default deadline is 600 s).
      progressDeadlineSeconds: budget + 300,
      // A GPU pod cannot surge: the new one would wait for the GPUs the old one holds.
      strategy: gpus > 0 ? { type: "Recreate" } : { type: "RollingUpdate" },
      template: {
        metadata: {
          labels: meta.labels,
          annotations: {
            ...meta.annotations,
            "prometheus.io/scrape": "true",
            "prometheus.io/port": String(WORKER_PORT),
            "prometheus.io/path": plan.metricsPath,
          },
        },
        spec: {
          // Service links would put every tf-* Service's address in every worker's environment.
          enableServiceLinks: false,
          containers: [container(spec, plan, options)],
          volumes: volumes(options),
          ...(gpus > 0
            ? { tolerations: [{ key: gpuResource, operator: "Exists", effect: "NoSchedule" }] }
            : {}),
        },
      },
    },
  };
}

/** The v1 Service (ClusterIP) in front of the deployment's ready pods, port 8000 named http. */
export function serviceManifest(spec: DeploymentSpec, options: ManifestOptions): V1Service {
  validateForKubernetes(spec, options);
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: metadata(spec, options),
    spec: {
      type: "ClusterIP",
      selector: podSelector(spec.id),
      ports: [{ name: "http", port: WORKER_PORT, targetPort: "http", protocol: "TCP" }],
    },
  };
}

/** The in-cluster base URL of a deployment's Service. */
export function serviceUrl(id: string, namespace: string): string {
  return `http://${objectName(id)}.${namespace}.svc:${WORKER_PORT}`;
}
