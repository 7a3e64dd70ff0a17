/**
 * The gateway's Prometheus series (GET /metrics), from the catalogue: HTTP requests by route and
 * status, forwarded generations by how they ended (the worker's status, or `PROXIED_STATUS`:
 * no answer, a stream broken after its headers, a client that left) with time to first byte and
 * end-to-end latency, requests in flight, requests refused before forwarding (per-deployment
 * admission), deployments by state, and the process's CPU and memory.
 * A registry per gateway.
 */
import { type Counter, collectDefaultMetrics, type Gauge, type Histogram, Registry } from "prom-client";
import { CATALOGUE as C } from "../telemetry/catalogue.js";
import { counter, gauge, histogram } from "../telemetry/prom.js";
import type { Deployments } from "./deployments.js";

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<"method" | "route" | "status">;
  readonly proxied: Counter<"model" | "runtime" | "status">;
  readonly inFlight: Gauge;
  readonly firstByte: Histogram<"model" | "runtime">;
  readonly e2e: Histogram<"model" | "runtime">;
  readonly refused: Counter<"model" | "runtime" | "reason">;
  /** Requests refused at a cap of caps.ts (deployments, replicas, worker processes, runs). */
  readonly capRefusals: Counter<"cap">;
  readonly accessRefused: Counter<"reason">;

  constructor(deployments: Deployments) {
    const r = this.registry;
    collectDefaultMetrics({ register: r, prefix: "tokenforge_gateway_" });
    this.httpRequests = counter(C.gatewayHttpRequests, r);
    this.proxied = counter(C.gatewayProxied, r);
    this.inFlight = gauge(C.gatewayInFlight, r);
    this.firstByte = histogram(C.gatewayFirstByte, r);
    this.e2e = histogram(C.gatewayE2e, r);
    this.refused = counter(C.gatewayRefused, r);
    this.capRefusals = counter(C.gatewayCapRefusals, r);
    this.accessRefused = counter(C.gatewayAccessRefused, r);
    gauge<"target" | "state">(C.gatewayDeployments, r, async (set) => {
      const counts = new Map<string, number>();
      for (const d of await deployments.list())
        counts.set(`${d.target}\u0000${d.status}`, (counts.get(`${d.target}\u0000${d.status}`) ?? 0) + 1);
      for (const [key, n] of counts) {
        const [target, state] = key.split("\u0000");
        set({ target: target!, state: state! }, n);
      }
    });
  }
}
