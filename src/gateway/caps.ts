/**
 * The gateway's caps on what callers can make it start: deployments in all, replicas per
 * deployment, local worker processes in all, and benchmark runs at once. A request past a cap is
 * refused before anything is started or stored — 409 for what exists (deployments, replicas,
 * processes: delete something first), 429 for runs (wait for one to end) — with the coded error
 * body naming the cap and its value, and counted in `/metrics`
 * (`tokenforge_gateway_cap_refusals_total{cap}`).
 */
import { TokenForgeError } from "../errors.js";

export interface GatewayCaps {
  /** Deployments in all, on every backend, those runs make for themselves included. */
  deployments: number;
  /** Replicas one deployment may ask for. */
  replicasPerDeployment: number;
  /** Worker processes the local backend runs in all (one per local replica). */
  workerProcesses: number;
  /** Benchmark runs queued or running at once. */
  concurrentRuns: number;
}

export const DEFAULT_CAPS: GatewayCaps = {
  deployments: 16,
  replicasPerDeployment: 8,
  workerProcesses: 16,
  concurrentRuns: 4,
};

export type CapName = keyof GatewayCaps;

/** Each cap's name in `/metrics`, its `tokenforge serve` flag and its environment variable. */
export const CAP_SETTINGS: Readonly<Record<CapName, { label: string; flag: string; env: string }>> = {
  deployments: { label: "deployments", flag: "--max-deployments", env: "TOKENFORGE_MAX_DEPLOYMENTS" },
  replicasPerDeployment: {
    label: "replicas_per_deployment",
    flag: "--max-replicas",
    env: "TOKENFORGE_MAX_REPLICAS",
  },
  workerProcesses: {
    label: "worker_processes",
    flag: "--max-worker-processes",
    env: "TOKENFORGE_MAX_WORKER_PROCESSES",
  },
  concurrentRuns: { label: "concurrent_runs", flag: "--max-concurrent-runs", env: "TOKENFORGE_MAX_RUNS" },
};

/** A request refused at a cap; the gateway's error handler counts it by `cap`. */
export class CapReached extends TokenForgeError {
  constructor(
    readonly cap: CapName,
    readonly limit: number,
    why: string,
    field?: string,
  ) {
    const { label, flag } = CAP_SETTINGS[cap];
    super(
      cap === "concurrentRuns" ? "over_capacity" : "conflict",
      `${why}: the gateway's cap ${label} is ${limit} (${flag})`,
      field === undefined ? {} : { field },
    );
  }
}

export function isCapReached(err: unknown): err is CapReached {
  return err instanceof CapReached;
}
