/**
 * The gateway's admission per deployment: at most `maxInFlight` generation requests forwarded to
 * one deployment's replicas at once; beyond that a request is refused with 429 and `Retry-After`
 * before anything is sent to a worker. It bounds what the gateway holds (sockets, buffers) for
 * engines that queue without limit (vLLM, an attached server), and keeps one deployment's flood
 * from holding the gateway's resources for the others. TokenForge's own worker bounds its queue
 * as well (its `--max-waiting`), usually below this.
 */
import { TokenForgeError } from "../errors.js";

/** In-flight requests per deployment when none is configured: far more than a worker's queue. */
export const DEFAULT_MAX_IN_FLIGHT_PER_DEPLOYMENT = 256;

/** The whole seconds a refused client is told to wait. */
export const GATEWAY_RETRY_AFTER_S = 1;

export class DeploymentAdmission {
  private readonly inFlight = new Map<string, number>();

  constructor(readonly maxInFlight: number = DEFAULT_MAX_IN_FLIGHT_PER_DEPLOYMENT) {
    if (!Number.isSafeInteger(maxInFlight) || maxInFlight < 1) {
      throw new TokenForgeError(
        "invalid_request",
        `the in-flight limit per deployment must be an integer ≥ 1, got ${maxInFlight}`,
        { field: "maxInFlightPerDeployment" },
      );
    }
  }

  /** Requests being forwarded to `deployment` now. */
  count(deployment: string): number {
    return this.inFlight.get(deployment) ?? 0;
  }

  /** A release function when admitted (call it once the answer has ended); undefined when full. */
  tryEnter(deployment: string): (() => void) | undefined {
    const n = this.count(deployment);
    if (n >= this.maxInFlight) return undefined;
    this.inFlight.set(deployment, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = this.count(deployment) - 1;
      if (left <= 0) this.inFlight.delete(deployment);
      else this.inFlight.set(deployment, left);
    };
  }
}
