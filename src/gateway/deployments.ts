/**
 * Deployments as the gateway sees them: the store keeps what was asked for, the backend (local
 * or Kubernetes) runs it and reports its state, and requests are routed round-robin over the
 * ready replicas of a model (and runtime).
 */
import { randomUUID } from "node:crypto";
import { TokenForgeError } from "../errors.js";
import type { RuntimeRegistry } from "../runtimes/registry.js";
import type {
  DeploymentBackend,
  DeploymentSpec,
  DeploymentStatus,
  DeploymentTarget,
} from "../spec/deployment.js";
import type { Store } from "../spec/store.js";
import { CapReached, DEFAULT_CAPS, type GatewayCaps } from "./caps.js";
import { type CallerRoots, confineModel } from "./paths.js";
import type { DeploymentView, DeployRequest } from "./schemas.js";

export interface DeploymentsOptions {
  /** Where a deployment's model may come from (the models directory) and where workers start. */
  roots?: Pick<CallerRoots, "modelsDir" | "workDir">;
  /** Caps on deployments, replicas and local worker processes (caps.ts); defaults DEFAULT_CAPS. */
  caps?: Partial<GatewayCaps>;
}

export class Deployments {
  private readonly turn = new Map<string, number>();
  /**
   * What is deployed, kept in memory for routing: a routed request reads no database, only the
   * backend's own (in-memory or cached) status. Loaded from the store on first use.
   */
  private known: Map<string, { spec: DeploymentSpec; createdAt: string }> | undefined;
  /** Deployments (and their local worker processes) being created now, held against the caps. */
  private readonly reserved = { deployments: 0, processes: 0 };
  private readonly caps: GatewayCaps;
  private readonly roots: Pick<CallerRoots, "modelsDir" | "workDir">;

  constructor(
    private readonly store: Store,
    private readonly backends: Partial<Record<DeploymentTarget, DeploymentBackend>>,
    private readonly runtimes: RuntimeRegistry,
    options: DeploymentsOptions = {},
  ) {
    this.caps = { ...DEFAULT_CAPS, ...options.caps };
    this.roots = options.roots ?? {};
  }

  /** Deploys `req`; `ownerRun` marks it as made by that run for itself (removed with it, never restored). */
  async deploy(req: DeployRequest, ownerRun?: string): Promise<DeploymentView> {
    this.runtimes.get(req.runtime, "runtime");
    const model = confineModel(req.model, this.roots);
    const target = req.target ?? "local";
    const backend = this.backends[target];
    if (!backend) {
      throw new TokenForgeError(
        "invalid_request",
        `the ${target} deployment backend is not configured on this gateway`,
        {
          field: "target",
        },
      );
    }
    const replicas = req.replicas ?? 1;
    const release = this.reserve(await this.routing(), target, replicas);
    try {
      const now = new Date().toISOString();
      const spec: DeploymentSpec = {
        id: `dep-${randomUUID().slice(0, 8)}`,
        model,
        runtime: req.runtime,
        ...(req.quant === undefined ? {} : { quant: req.quant }),
        replicas,
        resources: req.resources ?? {},
        target,
        engineArgs: req.engine_args ?? [],
      };
      const status = await backend.create(spec);
      await this.store.putDeployment({
        spec,
        state: status.state,
        createdAt: now,
        updatedAt: now,
        ...(ownerRun === undefined ? {} : { ownerRun }),
      });
      (await this.routing()).set(spec.id, { spec, createdAt: now });
      return view(spec, status, now);
    } finally {
      release();
    }
  }

  /**
   * Holds room for one deployment of `replicas` against the caps, or refuses (CapReached)
   * before anything starts. Synchronous, so two deploys at once cannot both take the last room:
   * what is known plus what is being created counts. Every local replica is one worker process.
   */
  private reserve(
    known: Map<string, { spec: DeploymentSpec }>,
    target: DeploymentTarget,
    replicas: number,
  ): () => void {
    const { caps } = this;
    if (replicas > caps.replicasPerDeployment) {
      throw new CapReached(
        "replicasPerDeployment",
        caps.replicasPerDeployment,
        `${replicas} replicas asked for`,
        "replicas",
      );
    }
    if (known.size + this.reserved.deployments >= caps.deployments) {
      throw new CapReached(
        "deployments",
        caps.deployments,
        `${known.size + this.reserved.deployments} deployments exist`,
      );
    }
    const processes = target === "local" ? replicas : 0;
    if (processes > 0) {
      const running = this.reserved.processes + this.localProcesses(known);
      if (running + processes > caps.workerProcesses) {
        throw new CapReached(
          "workerProcesses",
          caps.workerProcesses,
          `${replicas} more worker process(es) would make ${running + processes}`,
          "replicas",
        );
      }
    }
    this.reserved.deployments++;
    this.reserved.processes += processes;
    return () => {
      this.reserved.deployments--;
      this.reserved.processes -= processes;
    };
  }

  /** Worker processes of local deployments: one per replica. */
  private localProcesses(known: Map<string, { spec: DeploymentSpec }>): number {
    let n = 0;
    for (const { spec } of known.values()) if (spec.target === "local") n += spec.replicas;
    return n;
  }

  /**
   * Starts again what the store says should run (a gateway restart): every stored deployment
   * whose backend no longer knows it. Deployments a run made for itself are not restored: that
   * run ended with the process that ran it, so they are removed. Returns the ids restarted.
   */
  async restore(): Promise<string[]> {
    const restored: string[] = [];
    for (const row of await this.store.listDeployments()) {
      if (row.ownerRun !== undefined) {
        await this.delete(row.spec.id).catch(() => {});
        continue;
      }
      const backend = this.backends[row.spec.target];
      if (!backend || (await backend.get(row.spec.id))) continue;
      const status = await backend.create(row.spec);
      await this.store.putDeployment({ ...row, state: status.state, updatedAt: new Date().toISOString() });
      restored.push(row.spec.id);
    }
    return restored;
  }

  async list(): Promise<DeploymentView[]> {
    const rows = await this.store.listDeployments();
    const out: DeploymentView[] = [];
    for (const row of rows) {
      const status = await this.backends[row.spec.target]?.get(row.spec.id);
      out.push(view(row.spec, status, row.createdAt, row.state));
    }
    return out;
  }

  async get(id: string): Promise<DeploymentView> {
    const row = await this.store.getDeployment(id);
    if (!row) throw new TokenForgeError("not_found", `no deployment ${id}`, { field: "id" });
    const status = await this.backends[row.spec.target]?.get(id);
    return view(row.spec, status, row.createdAt, row.state);
  }

  async delete(id: string): Promise<DeploymentView> {
    const row = await this.store.getDeployment(id);
    if (!row) throw new TokenForgeError("not_found", `no deployment ${id}`, { field: "id" });
    const backend = this.backends[row.spec.target];
    if (backend && (await backend.get(id))) await backend.delete(id);
    await this.store.deleteDeployment(id);
    (await this.routing()).delete(id);
    return view(row.spec, undefined, row.createdAt, "stopped");
  }

  /**
   * A ready endpoint for `model` (and `runtime`, when given), round-robin over every ready
   * replica of every matching deployment. None at all: 404; none ready yet: 503.
   */
  async route(
    model: string,
    runtime?: string,
  ): Promise<{ endpoint: string; deployment: string; runtime: string }> {
    const matching: DeploymentView[] = [];
    for (const { spec, createdAt } of (await this.routing()).values()) {
      if (spec.model !== model || (runtime !== undefined && spec.runtime !== runtime)) continue;
      matching.push(view(spec, await this.backends[spec.target]?.get(spec.id), createdAt));
    }
    if (matching.length === 0) {
      throw new TokenForgeError(
        "model_not_found",
        `no deployment of ${model}${runtime ? ` on ${runtime}` : ""}: POST /deploy first`,
        { field: "model" },
      );
    }
    const ready = matching.flatMap((d) =>
      d.endpoints.map((endpoint) => ({ endpoint, deployment: d.id, runtime: d.runtime })),
    );
    if (ready.length === 0) {
      throw new TokenForgeError(
        "not_ready",
        `the deployment of ${model} is not ready yet (${matching[0]!.status})`,
      );
    }
    const key = `${model}\u0000${runtime ?? ""}`;
    const n = this.turn.get(key) ?? 0;
    this.turn.set(key, n + 1);
    return ready[n % ready.length]!;
  }

  private async routing(): Promise<Map<string, { spec: DeploymentSpec; createdAt: string }>> {
    if (!this.known) {
      const rows = await this.store.listDeployments();
      this.known ??= new Map(rows.map((r) => [r.spec.id, { spec: r.spec, createdAt: r.createdAt }]));
    }
    return this.known;
  }

  /** Ready deployments, for /v1/models. */
  async ready(): Promise<DeploymentView[]> {
    return (await this.list()).filter((d) => d.endpoints.length > 0);
  }

  /**
   * Every ready replica with its own endpoint, for Prometheus service discovery. Reads the
   * in-memory routing table and the backends' status only: a scrape every few seconds never
   * touches the database.
   */
  async readyReplicas(): Promise<{ spec: DeploymentSpec; replica: number; endpoint: string }[]> {
    const out: { spec: DeploymentSpec; replica: number; endpoint: string }[] = [];
    for (const { spec } of (await this.routing()).values()) {
      const status = await this.backends[spec.target]?.get(spec.id);
      for (const r of status?.replicas ?? []) {
        if (r.state === "ready" && r.endpoint !== undefined) {
          out.push({ spec, replica: r.index, endpoint: r.endpoint });
        }
      }
    }
    return out;
  }
}

function view(
  spec: DeploymentSpec,
  status: DeploymentStatus | undefined,
  createdAt: string,
  fallback = "stopped",
): DeploymentView {
  return {
    id: spec.id,
    model: spec.model,
    runtime: spec.runtime,
    ...(spec.quant === undefined ? {} : { quant: spec.quant }),
    target: spec.target,
    replicas: spec.replicas,
    status: status?.state ?? fallback,
    endpoints: status?.endpoints ?? [],
    events: (status?.events ?? []).map((e) => ({ at: e.at, kind: e.kind, message: e.message })),
    ...(status?.lastError === undefined ? {} : { last_error: status.lastError }),
    ...(status?.warnings === undefined ? {} : { warnings: status.warnings }),
    created_at: createdAt,
  };
}
