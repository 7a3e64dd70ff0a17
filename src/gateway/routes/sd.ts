/**
 * GET /prometheus/targets: Prometheus HTTP service discovery (`http_sd_configs`) for the workers
 * this gateway deployed. Workers started by the local backend listen on ports chosen at start, so
 * a static scrape config can never name them; Prometheus asks here instead, every refresh
 * interval. One target group per ready replica, labelled with its deployment, model, runtime and
 * replica index, and with the runtime's own metrics path and scheme.
 *
 * It is a scrape route: whoever may read /metrics may read it (the route's `config.access` says
 * so to any access hook).
 */
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import type { RuntimeRegistry } from "../../runtimes/registry.js";
import type { Deployments } from "../deployments.js";

export const SD_PATH = "/prometheus/targets";

/** One target group of Prometheus's HTTP SD format. */
export const TargetGroup = Type.Object({
  targets: Type.Array(Type.String()),
  labels: Type.Record(Type.String(), Type.String()),
});

export function sdRoutes(app: FastifyInstance, deployments: Deployments, runtimes: RuntimeRegistry): void {
  app.get(
    SD_PATH,
    {
      config: { access: "scrape" },
      schema: {
        summary: "Prometheus HTTP service discovery: one target group per ready worker replica",
        description:
          "Point `http_sd_configs` at this URL. Labels: deployment, model, runtime, replica, backend " +
          "(and quant when set); `__metrics_path__` and `__scheme__` come from the runtime.",
        response: { 200: Type.Array(TargetGroup) },
      },
    },
    async () => {
      const groups = [];
      for (const { spec, replica, endpoint } of await deployments.readyReplicas()) {
        let url: URL;
        try {
          url = new URL(endpoint);
        } catch {
          continue;
        }
        const path = runtimes.names().includes(spec.runtime)
          ? runtimes.get(spec.runtime).metrics?.path
          : undefined;
        groups.push({
          targets: [url.host],
          labels: {
            __metrics_path__: path ?? "/metrics",
            __scheme__: url.protocol.replace(/:$/, ""),
            deployment: spec.id,
            model: spec.model,
            runtime: spec.runtime,
            replica: String(replica),
            backend: spec.target,
            ...(spec.quant === undefined ? {} : { quant: spec.quant }),
          },
        });
      }
      return groups;
    },
  );
}
