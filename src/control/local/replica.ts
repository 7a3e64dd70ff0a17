/**
 * Supervises one replica: picks a port, starts the worker, waits for `/health`, and when the
 * process exits restarts it with backoff until the restart budget is spent. Stopping (the
 * deployment's abort signal) ends the loop and the process with it.
 */
import type {
  DeploymentEvent,
  DeploymentState,
  ReplicaFailure,
  ReplicaStatus,
} from "../../spec/deployment.js";
import type { RuntimeDefinition } from "../../spec/runtime.js";
import { waitForHealth } from "../health.js";
import { sleep, unlessAborted } from "./abortable.js";
import { freePort } from "./free-port.js";
import { RestartBudget, type RestartPolicy } from "./restart-policy.js";
import { describeExit, spawnWorker, type WorkerProcess } from "./worker-process.js";

/** Settings every replica of a backend shares. */
export interface SupervisorSettings {
  host: string;
  env: Record<string, string>;
  readyTimeoutMs: number;
  healthIntervalMs: number;
  stopGraceMs: number;
  restart: RestartPolicy;
}

/** What a replica tells its deployment. */
export interface ReplicaHooks {
  record(kind: DeploymentEvent["kind"], message: string, replica: number): void;
  error(message: string): void;
  /** The replica's state changed. */
  changed(): void;
  /** A line the worker wrote. */
  output(line: string, replica: number): void;
}

/** Why a run of the worker ended; `final` failures are not retried. */
interface Ended {
  message: string;
  final: boolean;
  kind: ReplicaFailure["kind"];
}

const TAIL_LINES = 8;

export class ReplicaSupervisor {
  state: DeploymentState = "pending";
  endpoint: string | undefined;
  pid: number | undefined;
  restarts = 0;
  /** Why the replica failed for good, once it has. */
  failure: ReplicaFailure | undefined;
  /** Settles when the loop has ended and no process of this replica is left. */
  done: Promise<void> = Promise.resolve();

  constructor(
    readonly index: number,
    private readonly runtime: RuntimeDefinition,
    private readonly launch: { model: string; quant: string | undefined; engineArgs: string[] },
    private readonly settings: SupervisorSettings,
    private readonly hooks: ReplicaHooks,
    private readonly signal: AbortSignal,
  ) {}

  start(): void {
    this.done = this.loop().catch((err: unknown) => {
      // A bug here must not become an unhandled rejection in the gateway: the replica fails visibly.
      const message = `replica ${this.index} supervisor error: ${err instanceof Error ? err.message : String(err)}`;
      this.hooks.error(message);
      this.transition("failed", "failed", message);
    });
  }

  status(): ReplicaStatus {
    const s: ReplicaStatus = { index: this.index, state: this.state, restarts: this.restarts };
    if (this.endpoint !== undefined) s.endpoint = this.endpoint;
    if (this.pid !== undefined) s.pid = this.pid;
    if (this.failure !== undefined) s.failure = this.failure;
    return s;
  }

  private async loop(): Promise<void> {
    const budget = new RestartBudget(this.settings.restart);
    while (!this.signal.aborted) {
      const ended = await this.runOnce();
      if (ended === undefined || this.signal.aborted) return;
      this.hooks.error(ended.message);
      const delay = ended.final ? undefined : budget.next(performance.now());
      if (delay === undefined) {
        const why = ended.final ? "" : ` (${this.restarts} restart(s) already, the limit)`;
        const message = `replica ${this.index} failed${why}: ${ended.message}`;
        this.failure = { kind: ended.kind, message };
        this.transition("failed", "failed", message);
        return;
      }
      this.restarts += 1;
      this.transition(
        "starting",
        "restarting",
        `restarting replica ${this.index} in ${delay} ms (restart ${this.restarts})`,
      );
      await sleep(delay, this.signal);
    }
  }

  /** One process from spawn to exit; undefined when the deployment is being stopped. */
  private async runOnce(): Promise<Ended | undefined> {
    const { host } = this.settings;
    let port: number;
    try {
      port = await freePort(host);
    } catch (err) {
      return { message: `no free port on ${host}: ${(err as Error).message}`, final: false, kind: "exited" };
    }
    if (this.signal.aborted) return undefined;
    const endpoint = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
    let proc: WorkerProcess;
    try {
      const spec = this.runtime.localProcess({
        model: this.launch.model,
        quant: this.launch.quant,
        port,
        host,
        extraArgs: this.launch.engineArgs,
      });
      proc = await spawnWorker(spec, this.settings.env, {
        onLine: (line) => this.hooks.output(line, this.index),
        orphanGraceMs: this.settings.stopGraceMs,
      });
    } catch (err) {
      return {
        message: `could not start the worker: ${(err as Error).message}`,
        final: true,
        kind: "not-started",
      };
    }
    this.endpoint = endpoint;
    this.pid = proc.pid;
    this.transition("starting", "starting", `replica ${this.index}: pid ${proc.pid ?? "-"} on ${endpoint}`);
    try {
      return await this.supervise(proc, endpoint);
    } finally {
      await proc.stop(this.settings.stopGraceMs);
      this.pid = undefined;
    }
  }

  private async supervise(proc: WorkerProcess, endpoint: string): Promise<Ended | undefined> {
    const { readyTimeoutMs, healthIntervalMs } = this.settings;
    const health = await waitForHealth(endpoint, this.runtime.health, {
      timeoutMs: readyTimeoutMs,
      intervalMs: healthIntervalMs,
      exited: proc.exited,
      signal: this.signal,
    });
    switch (health.kind) {
      case "aborted":
        return undefined;
      case "failed": {
        // The worker says its load failed: loading again would fail again, so it is not retried.
        const message = `replica ${this.index} (pid ${proc.pid ?? "-"}) failed to load: ${health.reason}${lastLines(proc)}`;
        this.hooks.record("crashed", message, this.index);
        return { message, final: true, kind: "load-failed" };
      }
      case "timeout":
        // Loading again would take as long again: not retried.
        return {
          message: `replica ${this.index} (pid ${proc.pid ?? "-"}) was not ready within ${readyTimeoutMs} ms${lastLines(proc)}`,
          final: true,
          kind: "not-ready-in-time",
        };
      case "exited": {
        const exit = await proc.exited;
        const message = `replica ${this.index} (pid ${proc.pid ?? "-"}) exited before it was ready: ${describeExit(exit)}${lastLines(proc)}`;
        this.hooks.record("crashed", message, this.index);
        const notStarted = exit.spawnError !== undefined;
        return { message, final: notStarted, kind: notStarted ? "not-started" : "exited" };
      }
      case "ready":
        break;
      default:
        health satisfies never;
    }
    this.transition("ready", "ready", `replica ${this.index} ready on ${endpoint}`);
    const exit = await unlessAborted(proc.exited, this.signal);
    if (exit === undefined) return undefined;
    const message = `replica ${this.index} (pid ${proc.pid ?? "-"}) crashed: ${describeExit(exit)}${lastLines(proc)}`;
    this.transition("starting", "crashed", message);
    return { message, final: false, kind: "exited" };
  }

  private transition(state: DeploymentState, kind: DeploymentEvent["kind"], message: string): void {
    this.state = state;
    this.hooks.record(kind, message, this.index);
    this.hooks.changed();
  }
}

function lastLines(proc: WorkerProcess): string {
  const lines = proc.tail.last(TAIL_LINES);
  return lines.length === 0 ? "" : `; last output:\n${lines.join("\n")}`;
}
