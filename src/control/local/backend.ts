/**
 * The local deployment backend: each replica is a worker process on this machine, started from
 * the runtime's `localProcess` spec, supervised, restarted with backoff when it exits, and stopped
 * on delete and on close. It registers no process-wide handlers: the composition root calls
 * `close()` when the gateway shuts down.
 */
import { isTokenForgeError, TokenForgeError } from "../../errors.js";
import type { RuntimeRegistry } from "../../runtimes/registry.js";
import type {
  DeploymentBackend,
  DeploymentEvent,
  DeploymentSpec,
  DeploymentStatus,
} from "../../spec/deployment.js";
import type { RuntimeDefinition, SettingWarning } from "../../spec/runtime.js";
import { LocalDeployment } from "./deployment.js";
import type { SupervisorSettings } from "./replica.js";
import { DEFAULT_RESTART_POLICY, type RestartPolicy } from "./restart-policy.js";

export interface LocalBackendOptions {
  runtimes: RuntimeRegistry;
  /** Address workers listen on (default 127.0.0.1). */
  host?: string;
  /** How long a worker may take to answer `/health` 200 (default 10 min: a large synthetic model is written on first use). */
  readyTimeoutMs?: number;
  /** Pause between `/health` probes while a worker starts (default 250 ms). */
  healthIntervalMs?: number;
  /** Time between SIGTERM and SIGKILL when stopping a worker (default 10 s). */
  stopGraceMs?: number;
  restart?: Partial<RestartPolicy>;
  /** Added to this process's environment for every worker (e.g. TOKENFORGE_MODEL_CACHE). */
  env?: Record<string, string>;
  /** Called with every event as it is recorded; must not throw (errors are ignored). */
  onEvent?: (deploymentId: string, event: DeploymentEvent) => void;
  /** Called with every line a worker writes to stderr; must not throw (errors are ignored). */
  onOutput?: (deploymentId: string, replica: number, line: string) => void;
}

export class LocalBackend implements DeploymentBackend {
  readonly target = "local" as const;
  private readonly deployments = new Map<string, LocalDeployment>();
  private readonly settings: SupervisorSettings;
  private closed = false;

  constructor(private readonly options: LocalBackendOptions) {
    this.settings = {
      host: options.host ?? "127.0.0.1",
      env: options.env ?? {},
      readyTimeoutMs: options.readyTimeoutMs ?? 600_000,
      healthIntervalMs: options.healthIntervalMs ?? 250,
      stopGraceMs: options.stopGraceMs ?? 10_000,
      restart: { ...DEFAULT_RESTART_POLICY, ...options.restart },
    };
  }

  async create(spec: DeploymentSpec): Promise<DeploymentStatus> {
    if (this.closed) throw new TokenForgeError("not_ready", "the local deployment backend has been closed");
    const { runtime, warnings } = this.validate(spec);
    const copy = structuredClone(spec);
    const deployment = new LocalDeployment(
      copy,
      runtime,
      this.settings,
      this.options.onEvent,
      this.options.onOutput,
    );
    this.deployments.set(spec.id, deployment);
    deployment.start([...resourceWarnings(copy), ...warnings]);
    return deployment.status();
  }

  async get(id: string): Promise<DeploymentStatus | undefined> {
    return this.deployments.get(id)?.status();
  }

  async list(): Promise<DeploymentStatus[]> {
    return [...this.deployments.values()].map((d) => d.status());
  }

  async delete(id: string): Promise<void> {
    const deployment = this.deployments.get(id);
    // A delete already under way counts as the first one.
    if (!deployment || deployment.isStopping) {
      throw new TokenForgeError("not_found", `no deployment "${id}" on the local backend`, { field: "id" });
    }
    await this.remove(deployment);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.deployments.values()].map((d) => this.remove(d)));
  }

  /** Stops the deployment's workers, then forgets it. */
  private async remove(deployment: LocalDeployment): Promise<void> {
    try {
      await deployment.stop();
    } finally {
      if (this.deployments.get(deployment.spec.id) === deployment)
        this.deployments.delete(deployment.spec.id);
    }
  }

  /** Every problem with the spec at once, as one invalid_request naming the first field. */
  private validate(spec: DeploymentSpec): { runtime: RuntimeDefinition; warnings: SettingWarning[] } {
    const problems: { field: string; message: string }[] = [];
    let runtime: RuntimeDefinition | undefined;
    let warnings: SettingWarning[] = [];
    if (typeof spec.id !== "string" || spec.id.trim() === "") {
      problems.push({ field: "id", message: "id must be a non-empty string" });
    } else if (this.deployments.has(spec.id)) {
      problems.push({ field: "id", message: `a deployment "${spec.id}" already exists` });
    }
    if (spec.target !== "local") {
      problems.push({
        field: "target",
        message: `target must be "local" on this backend, got "${spec.target}"`,
      });
    }
    if (!Number.isInteger(spec.replicas) || spec.replicas < 1) {
      problems.push({ field: "replicas", message: `replicas must be an integer ≥ 1, got ${spec.replicas}` });
    }
    try {
      runtime = this.options.runtimes.get(spec.runtime, "runtime");
    } catch (err) {
      if (!isTokenForgeError(err)) throw err;
      problems.push({ field: err.field ?? "runtime", message: err.message });
    }
    if (runtime) {
      // The launch spec is pure: building it once here refuses bad engine arguments before anything starts.
      try {
        const launch = runtime.localProcess({
          model: spec.model,
          quant: spec.quant,
          port: 0,
          host: this.settings.host,
          extraArgs: spec.engineArgs,
        });
        warnings = launch.warnings ?? [];
      } catch (err) {
        const field = isTokenForgeError(err) && err.field ? err.field : "engine_args";
        problems.push({ field, message: (err as Error).message });
      }
    }
    const first = problems[0];
    if (first) {
      throw new TokenForgeError("invalid_request", problems.map((p) => p.message).join("; "), {
        field: first.field,
      });
    }
    return { runtime: runtime!, warnings };
  }
}

/** What the local backend cannot honour, said in the "created" event rather than dropped silently. */
function resourceWarnings(spec: DeploymentSpec): SettingWarning[] {
  const { gpus, cpu, memory } = spec.resources;
  if (gpus === undefined && cpu === undefined && memory === undefined) return [];
  return [
    {
      kind: "unsupported-setting",
      field: "resources",
      message: "resources are not reserved or limited by the local backend",
    },
  ];
}
