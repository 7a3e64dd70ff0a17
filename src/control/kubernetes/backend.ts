/**
 * The Kubernetes deployment backend: a Deployment and a Service per TokenForge deployment, in one
 * namespace, through @kubernetes/client-node. State is read back from the API on every call (the
 * cluster is the source of truth, so a restarted gateway sees what it created before).
 */
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  type V1Deployment,
  type V1Pod,
  type V1Service,
} from "@kubernetes/client-node";
import { TokenForgeError } from "../../errors.js";
import type { RuntimeRegistry } from "../../runtimes/registry.js";
import type { DeploymentBackend, DeploymentSpec, DeploymentStatus } from "../../spec/deployment.js";
import type { SettingWarning } from "../../spec/runtime.js";
import { type ContainerOptions, containerPlan } from "./containers.js";
import { deploymentManifest, type ManifestOptions, serviceManifest, serviceUrl } from "./manifests.js";
import {
  ANNOTATION,
  LABEL,
  MANAGED_SELECTOR,
  MANAGER,
  objectName,
  podSelector,
  selectorString,
} from "./names.js";
import { withFailedLoads } from "./pod-health.js";
import { deploymentStatus } from "./status.js";

export interface KubernetesBackendOptions extends Omit<ManifestOptions, "namespace">, ContainerOptions {
  /** Where each runtime's container comes from. */
  runtimes: RuntimeRegistry;
  /** Default: loaded the way kubectl does (KUBECONFIG, ~/.kube/config, or in-cluster). */
  kubeConfig?: KubeConfig;
  /** Default: the kubeconfig context's namespace, else "default". */
  namespace?: string;
  /**
   * Whether close() deletes every deployment this backend manages in its namespace. Default false:
   * workers on a cluster outlive a gateway restart, and a new gateway finds them by their labels.
   */
  deleteOnClose?: boolean;
  /**
   * How long (ms) a get() answer is reused. The gateway reads statuses on every routed request,
   * and each read is three API calls; default 1000, 0 reads the cluster every time.
   */
  statusCacheMs?: number;
  /**
   * Whether a starting pod's `/health` is read at its pod address, so a worker whose model failed
   * to load fails the deployment at once (default false: only a gateway inside the cluster can
   * reach pods).
   */
  readPodHealth?: boolean;
}

/** A pod that does not answer its health this fast is read as still loading. */
const POD_HEALTH_TIMEOUT_MS = 1000;

/** Background: the Deployment goes at once and its ReplicaSet and pods are collected after it. */
const PROPAGATION = "Background";

export class KubernetesBackend implements DeploymentBackend {
  readonly target = "kubernetes" as const;
  readonly namespace: string;
  private readonly apps: AppsV1Api;
  private readonly core: CoreV1Api;
  private readonly server: string;
  private readonly manifestOptions: ManifestOptions;
  private readonly cacheMs: number;
  private readonly cache = new Map<string, { at: number; status: DeploymentStatus | undefined }>();
  /** What each deployment created here could not honour (kept for this backend's lifetime). */
  private readonly warnings = new Map<string, SettingWarning[]>();

  constructor(private readonly options: KubernetesBackendOptions) {
    const kc = options.kubeConfig ?? defaultKubeConfig();
    this.namespace = options.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? "default";
    this.server = kc.getCurrentCluster()?.server ?? "(no cluster in kubeconfig)";
    this.apps = kc.makeApiClient(AppsV1Api);
    this.core = kc.makeApiClient(CoreV1Api);
    this.manifestOptions = {
      namespace: this.namespace,
      ...pick(options, ["startupBudgetSeconds", "shmSizeLimit", "modelCachePvc", "gpuResource"]),
    };
    this.cacheMs = options.statusCacheMs ?? 1000;
  }

  async create(spec: DeploymentSpec): Promise<DeploymentStatus> {
    // Everything that can be wrong with the spec is found before the first API call.
    const plan = containerPlan(spec, this.options.runtimes, this.options);
    const deployment = deploymentManifest(spec, plan, this.manifestOptions);
    const service = serviceManifest(spec, this.manifestOptions);
    const name = objectName(spec.id);
    const namespace = this.namespace;
    this.cache.delete(spec.id);

    let created: V1Deployment;
    try {
      created = await this.apps.createNamespacedDeployment({ namespace, body: deployment });
    } catch (err) {
      throw this.apiError(err, `creating Deployment ${name}`, spec.id);
    }
    let createdService: V1Service;
    try {
      createdService = await this.core.createNamespacedService({ namespace, body: service });
    } catch (err) {
      // Nothing half-created: without its Service the Deployment is unreachable, so it goes too.
      await this.apps
        .deleteNamespacedDeployment({ name, namespace, propagationPolicy: PROPAGATION })
        .catch(() => undefined);
      throw this.apiError(err, `creating Service ${name}`, spec.id);
    }
    this.cache.delete(spec.id);
    const status = deploymentStatus(spec.id, created, [], this.urlIf(createdService, spec.id));
    if (plan.warnings.length > 0) {
      this.warnings.set(spec.id, plan.warnings);
      status.warnings = plan.warnings;
      status.events.push({
        at: status.events[0]?.at ?? new Date().toISOString(),
        kind: "created",
        message: `warnings: ${plan.warnings.map((w) => w.message).join("; ")}`,
      });
    }
    return status;
  }

  async get(id: string): Promise<DeploymentStatus | undefined> {
    const hit = this.cache.get(id);
    if (hit && performance.now() - hit.at < this.cacheMs) return structuredClone(hit.status);
    const status = await this.read(id);
    const warnings = this.warnings.get(id);
    if (status && warnings) status.warnings = warnings;
    if (this.cacheMs > 0) this.cache.set(id, { at: performance.now(), status });
    return structuredClone(status);
  }

  private async read(id: string): Promise<DeploymentStatus | undefined> {
    let name: string;
    try {
      name = objectName(id);
    } catch {
      return undefined;
    }
    const namespace = this.namespace;
    const deployment = await this.readOrUndefined(
      () => this.apps.readNamespacedDeployment({ name, namespace }),
      `reading Deployment ${name}`,
    );
    if (!deployment || !isOurs(deployment, id)) return undefined;
    const [service, pods] = await Promise.all([
      this.readOrUndefined(
        () => this.core.readNamespacedService({ name, namespace }),
        `reading Service ${name}`,
      ),
      this.call(
        () => this.core.listNamespacedPod({ namespace, labelSelector: selectorString(podSelector(id)) }),
        `listing pods of ${name}`,
      ),
    ]);
    const status = deploymentStatus(
      id,
      deployment,
      pods.items,
      service ? this.urlIf(service, id) : undefined,
    );
    if (!this.options.readPodHealth || status.state !== "starting") return status;
    const runtime = deployment.metadata?.labels?.[LABEL.runtime] ?? "";
    return withFailedLoads(status, this.options.runtimes.health(runtime), POD_HEALTH_TIMEOUT_MS);
  }

  async list(): Promise<DeploymentStatus[]> {
    const namespace = this.namespace;
    const labelSelector = MANAGED_SELECTOR;
    const [deployments, services, pods] = await Promise.all([
      this.call(
        () => this.apps.listNamespacedDeployment({ namespace, labelSelector }),
        "listing Deployments",
      ),
      this.call(() => this.core.listNamespacedService({ namespace, labelSelector }), "listing Services"),
      this.call(() => this.core.listNamespacedPod({ namespace, labelSelector }), "listing pods"),
    ]);
    const serviceNames = new Set(services.items.map((s) => s.metadata?.name));
    const podsOf = new Map<string, V1Pod[]>();
    for (const pod of pods.items) {
      const key = pod.metadata?.labels?.[LABEL.deployment];
      if (key !== undefined) podsOf.set(key, [...(podsOf.get(key) ?? []), pod]);
    }
    const out: DeploymentStatus[] = [];
    for (const d of deployments.items) {
      const id = d.metadata?.annotations?.[ANNOTATION.id];
      if (id === undefined) continue;
      const key = d.metadata?.labels?.[LABEL.deployment] ?? "";
      const url = serviceNames.has(d.metadata?.name) ? serviceUrl(id, namespace) : undefined;
      out.push(deploymentStatus(id, d, podsOf.get(key) ?? [], url));
    }
    return out.sort((a, b) => a.id.localeCompare(b.id));
  }

  async delete(id: string): Promise<void> {
    this.cache.delete(id);
    let name: string;
    try {
      name = objectName(id);
    } catch {
      throw notFound(id);
    }
    const namespace = this.namespace;
    const deployment = await this.readOrUndefined(
      () => this.apps.readNamespacedDeployment({ name, namespace }),
      `reading Deployment ${name}`,
    );
    if (deployment && !isOurs(deployment, id)) throw notFound(id);
    const removedService = await this.deleteOrFalse(
      () => this.core.deleteNamespacedService({ name, namespace, propagationPolicy: PROPAGATION }),
      `deleting Service ${name}`,
    );
    const removedDeployment = await this.deleteOrFalse(
      () => this.apps.deleteNamespacedDeployment({ name, namespace, propagationPolicy: PROPAGATION }),
      `deleting Deployment ${name}`,
    );
    // A get() that raced this delete may have cached the objects just removed.
    this.cache.delete(id);
    this.warnings.delete(id);
    if (!removedService && !removedDeployment) throw notFound(id);
  }

  async close(): Promise<void> {
    if (!this.options.deleteOnClose) return;
    for (const status of await this.list()) {
      await this.delete(status.id).catch((err: unknown) => {
        if (!(err instanceof TokenForgeError && err.code === "not_found")) throw err;
      });
    }
  }

  private urlIf(service: V1Service, id: string): string | undefined {
    return service.metadata?.name === undefined ? undefined : serviceUrl(id, this.namespace);
  }

  private async call<T>(fn: () => Promise<T>, what: string): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.apiError(err, what);
    }
  }

  private async readOrUndefined<T>(fn: () => Promise<T>, what: string): Promise<T | undefined> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) return undefined;
      throw this.apiError(err, what);
    }
  }

  private async deleteOrFalse(fn: () => Promise<unknown>, what: string): Promise<boolean> {
    const done = await this.readOrUndefined(async () => {
      await fn();
      return true;
    }, what);
    return done ?? false;
  }

  /** An API failure as a coded error: 409 names the deployment; the rest keep Kubernetes' message. */
  private apiError(err: unknown, what: string, id?: string): TokenForgeError {
    if (err instanceof TokenForgeError) return err;
    if (err instanceof ApiException) {
      const status = kubeStatus(err.body);
      const detail = status.message ?? `HTTP ${err.code}`;
      if (err.code === 409 && id !== undefined) {
        return new TokenForgeError(
          "invalid_request",
          `deployment "${id}" already exists in namespace ${this.namespace} (${what}: ${detail})`,
          { field: "id", cause: err },
        );
      }
      if (err.code === 422 || err.code === 400) {
        return new TokenForgeError("invalid_request", `Kubernetes refused ${what}: ${detail}`, {
          cause: err,
        });
      }
      const reason = status.reason ? `${status.reason}: ` : "";
      return new TokenForgeError("io_error", `Kubernetes API ${err.code} ${what}: ${reason}${detail}`, {
        cause: err,
      });
    }
    const message = err instanceof Error ? `${err.message}${causeText(err)}` : String(err);
    return new TokenForgeError("io_error", `Kubernetes API at ${this.server} ${what}: ${message}`, {
      cause: err,
    });
  }
}

function pick<T extends object, K extends keyof T>(obj: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (obj[k] !== undefined) out[k] = obj[k];
  return out;
}

function defaultKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  return kc;
}

/** Made by TokenForge for exactly this id (two ids may sanitize to one name, e.g. "A" and "a"). */
function isOurs(deployment: V1Deployment, id: string): boolean {
  const meta = deployment.metadata;
  return meta?.labels?.[LABEL.managedBy] === MANAGER && meta.annotations?.[ANNOTATION.id] === id;
}

function notFound(id: string): TokenForgeError {
  return new TokenForgeError("not_found", `no deployment "${id}"`, { field: "id" });
}

/** The `Status` object Kubernetes answers errors with (the client hands it over as text). */
function kubeStatus(body: unknown): { message?: string; reason?: string } {
  let parsed: unknown = body;
  if (typeof body === "string") {
    try {
      parsed = JSON.parse(body);
    } catch {
      return body.trim() === "" ? {} : { message: body.trim().slice(0, 500) };
    }
  }
  if (parsed === null || typeof parsed !== "object") return {};
  const { message, reason } = parsed as { message?: unknown; reason?: unknown };
  return {
    ...(typeof message === "string" ? { message } : {}),
    ...(typeof reason === "string" ? { reason } : {}),
  };
}

function causeText(err: Error): string {
  const cause = err.cause;
  if (cause instanceof Error) return ` (${(cause as NodeJS.ErrnoException).code ?? cause.message})`;
  return "";
}
