/**
 * Goodput: the ok requests that met every configured SLO (time to first token, time per output
 * token, end-to-end latency). Reported only when the workload sets at least one SLO.
 */
import type { GoodputMetrics } from "./metric-types.js";
import type { Slo } from "./types.js";

function sloConfigured(slo: Slo): boolean {
  return slo.ttftMs !== undefined || slo.tpotMs !== undefined || slo.e2eMs !== undefined;
}

export class GoodputCounter {
  private readonly configured: boolean;
  private met = 0;

  constructor(private readonly slo: Slo) {
    this.configured = sloConfigured(slo);
  }

  /** Counts one ok request; a latency left unmeasured misses its SLO. */
  add(ttft: number | undefined, tpot: number | undefined, e2e: number | undefined): void {
    if (!this.configured) return;
    const { ttftMs, tpotMs, e2eMs } = this.slo;
    const meets =
      (ttftMs === undefined || (ttft !== undefined && ttft <= ttftMs)) &&
      (tpotMs === undefined || (tpot !== undefined && tpot <= tpotMs)) &&
      (e2eMs === undefined || (e2e !== undefined && e2e <= e2eMs));
    if (meets) this.met++;
  }

  /**
   * The goodput over `total` requests (a failed one misses its SLO), with `perS` turning a count
   * into a rate over the window; undefined when no SLO is set.
   */
  finish(perS: (n: number) => number | undefined, total: number): GoodputMetrics | undefined {
    if (!this.configured) return undefined;
    const slo: Slo = {};
    if (this.slo.ttftMs !== undefined) slo.ttftMs = this.slo.ttftMs;
    if (this.slo.tpotMs !== undefined) slo.tpotMs = this.slo.tpotMs;
    if (this.slo.e2eMs !== undefined) slo.e2eMs = this.slo.e2eMs;
    return {
      slo,
      met: this.met,
      requestsPerS: perS(this.met),
      fraction: total > 0 ? this.met / total : undefined,
    };
  }
}
