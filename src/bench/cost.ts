/**
 * The cost of tokens: the hardware's dollars per hour spread over the tokens a throughput produces
 * in that hour. Cost per 1M tokens = $/hour × 10⁶ / (tokens/s × 3600): the one formula for the
 * aggregated metrics and the published results site. And the one formula for an amortized
 * machine's dollars per hour, which cost profiles compute and the site writes out.
 */
import type { CostMetrics } from "./metric-types.js";
import type { CostProfile } from "./types.js";

/** Hours in a year, as cost amortization counts them (365 × 24). */
export const HOURS_PER_YEAR = 8760;

/**
 * An amortized machine's dollars per hour of use, in its two parts: the purchase price spread over
 * the hours it is in use, price / (amortization_years × 8760 × utilization), and the energy of
 * that hour, power_watts / 1000 × dollars_per_kwh.
 */
export function amortizedHourly(a: {
  price: number;
  amortizationYears: number;
  utilization: number;
  powerWatts: number;
  dollarsPerKwh: number;
}): { hardware: number; energy: number } {
  return {
    hardware: a.price / (a.amortizationYears * HOURS_PER_YEAR * a.utilization),
    energy: (a.powerWatts / 1000) * a.dollarsPerKwh,
  };
}

/** $ per 1M tokens at a throughput: $/hour × 10⁶ / (tokens/s × 3600); absent without a rate. */
export function costPer1M(dollarsPerHour: number, tokensPerS: number | undefined): number | undefined {
  if (tokensPerS === undefined || !(tokensPerS > 0)) return undefined;
  return (dollarsPerHour * 1e6) / (tokensPerS * 3600);
}

/** Cost per 1M input, output and total tokens at a workload's token throughputs (tokens/s). */
export function costMetrics(
  cost: CostProfile,
  throughput: { input: number | undefined; output: number | undefined; total: number | undefined },
): CostMetrics {
  return {
    dollarsPerHour: cost.dollarsPerHour,
    costPer1MInputTokens: costPer1M(cost.dollarsPerHour, throughput.input),
    costPer1MOutputTokens: costPer1M(cost.dollarsPerHour, throughput.output),
    costPer1MTotalTokens: costPer1M(cost.dollarsPerHour, throughput.total),
  };
}
