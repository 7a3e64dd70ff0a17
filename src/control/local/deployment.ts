/**
 * One local deployment: its replicas' supervisors, its events and the state rules.
 *
 * State: `stopped` once deleted; `failed` as soon as any replica has failed for good (the others
 * keep serving their endpoints until the deployment is deleted); `ready` when every replica is
 * ready; `pending` before any worker was spawned; `starting` otherwise (a replica starting, or
 * restarting after a crash). `endpoints` always lists the replicas that are ready now, so routing
 * works while some replicas start or restart.
 */
import type {
  DeploymentEvent,
  DeploymentSpec,
  DeploymentState,
  DeploymentStatus,
} from "../../spec/deployment.js";
import type { RuntimeDefinition, SettingWarning } from "../../spec/runtime.js";
import { EventLog } from "./event-log.js";
import { ReplicaSupervisor, type SupervisorSettings } from "./replica.js";

export type EventListener = (deploymentId: string, event: DeploymentEvent) => void;
export type OutputListener = (deploymentId: string, replica: number, line: string) => void;

export class LocalDeployment {
  private readonly events = new EventLog();
  private readonly abort = new AbortController();
  private readonly replicas: ReplicaSupervisor[];
  private lastError: string | undefined;
  private warnings: SettingWarning[] = [];
  private wasReady = false;
  private stopped = false;
  /** Set once stopping has begun: the deployment is on its way out. */
  private stopping: Promise<void> | undefined;

  constructor(
    readonly spec: DeploymentSpec,
    runtime: RuntimeDefinition,
    settings: SupervisorSettings,
    private readonly onEvent: EventListener | undefined,
    onOutput?: OutputListener,
  ) {
    const hooks = {
      record: (kind: DeploymentEvent["kind"], message: string, replica: number) =>
        this.record(kind, message, replica),
      error: (message: string) => {
        this.lastError = message;
      },
      changed: () => this.changed(),
      output: (line: string, replica: number) => onOutput?.(spec.id, replica, line),
    };
    const launch = { model: spec.model, quant: spec.quant, engineArgs: spec.engineArgs };
    this.replicas = Array.from(
      { length: spec.replicas },
      (_, i) => new ReplicaSupervisor(i, runtime, launch, settings, hooks, this.abort.signal),
    );
  }

  start(warnings: SettingWarning[]): void {
    this.warnings = warnings;
    const base = `${this.spec.replicas} replica(s) of ${this.spec.model} on ${this.spec.runtime}`;
    this.record("created", [base, ...warnings.map((w) => w.message)].join("; "));
    for (const r of this.replicas) r.start();
  }

  state(): DeploymentState {
    if (this.stopped) return "stopped";
    const states = this.replicas.map((r) => r.state);
    if (states.includes("failed")) return "failed";
    if (states.every((s) => s === "ready")) return "ready";
    if (states.every((s) => s === "pending")) return "pending";
    return "starting";
  }

  status(): DeploymentStatus {
    const replicas = this.replicas.map((r) => r.status());
    const status: DeploymentStatus = {
      id: this.spec.id,
      state: this.state(),
      replicas,
      endpoints: replicas.flatMap((r) => (r.state === "ready" && r.endpoint ? [r.endpoint] : [])),
      events: this.events.list(),
    };
    if (this.lastError !== undefined) status.lastError = this.lastError;
    if (this.warnings.length > 0) status.warnings = [...this.warnings];
    return status;
  }

  get isStopping(): boolean {
    return this.stopping !== undefined;
  }

  /**
   * Stops every replica's process (SIGTERM, then SIGKILL after the grace period) and waits for
   * them; later calls wait for the same stop.
   */
  stop(): Promise<void> {
    this.stopping ??= this.stopAll();
    return this.stopping;
  }

  private async stopAll(): Promise<void> {
    this.record("stopping", `stopping ${this.replicas.length} replica(s)`);
    this.abort.abort();
    await Promise.all(this.replicas.map((r) => r.done));
    for (const r of this.replicas) r.state = "stopped";
    this.stopped = true;
    this.record("stopped", "every worker process has exited");
  }

  private changed(): void {
    const ready = this.state() === "ready";
    if (ready && !this.wasReady) this.record("ready", `all ${this.replicas.length} replica(s) ready`);
    this.wasReady = ready;
  }

  private record(kind: DeploymentEvent["kind"], message: string, replica?: number): void {
    const event: DeploymentEvent = { at: new Date().toISOString(), kind, message };
    if (replica !== undefined) event.replica = replica;
    this.events.add(event);
    try {
      this.onEvent?.(this.spec.id, event);
    } catch {
      // A listener's failure must not stop supervision; the event is in the log regardless.
    }
  }
}
