/** The simulated server (`tokenforge sim`, as a child process) against the worker-protocol suite. */
import { startSimChild } from "../helpers/sim.js";
import { defineConformance, metricValue } from "./suite.js";

defineConformance("sim", async () => {
  // 2 ms per token: short requests stay short, and a 1,000-token stream is still running when
  // the disconnect test leaves it.
  const sim = await startSimChild({ itlMs: 2, model: "sim-model", noGroundTruth: true });
  return {
    url: sim.url,
    model: "sim-model",
    close: () => sim.stop(),
    capabilities: {
      tokenize: true,
      checksModel: true,
      runningRequests: (t) => metricValue(t, "sim_requests_running"),
      healthWhileLoading: "the simulator has no model to load: it is ready as soon as it listens",
    },
  };
});
