/**
 * The simulated server's `/metrics` page (Prometheus text): its request counts and ground-truth
 * records, and with a performance model the engine's gauges (engine-clock.ts).
 */

export interface SimCounts {
  /** Generation requests received (refused ones included). */
  requests: number;
  /** Generation requests in progress. */
  running: number;
  /** Ground-truth records kept. */
  records: number;
  /** Ground-truth records dropped past the limit. */
  dropped: number;
}

/** One series: its HELP and TYPE lines, then its value. */
function series(name: string, type: "counter" | "gauge", help: string, value: number): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name} ${value}\n`;
}

export function simMetrics(c: SimCounts, engineMetrics = ""): string {
  return (
    series("sim_requests_total", "counter", "Generation requests received.", c.requests) +
    series("sim_requests_running", "gauge", "Generation requests in progress.", c.running) +
    series("sim_ground_truth_records", "gauge", "Ground-truth records kept.", c.records) +
    series(
      "sim_ground_truth_dropped_total",
      "counter",
      "Ground-truth records dropped past the limit.",
      c.dropped,
    ) +
    engineMetrics
  );
}
