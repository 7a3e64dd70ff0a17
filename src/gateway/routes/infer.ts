/** POST /infer: one completion from a ready deployment of the model (and runtime), round-robin. */
import type { FastifyInstance } from "fastify";
import type { Deployments } from "../deployments.js";
import type { WorkerProxy } from "../proxy.js";
import { ErrorBody, InferRequest } from "../schemas.js";

export function inferRoutes(app: FastifyInstance, deployments: Deployments, proxy: WorkerProxy): void {
  app.post<{ Body: InferRequest }>(
    "/infer",
    {
      schema: {
        summary: "Generate from a deployed model; SSE when stream is true",
        body: InferRequest,
        response: { 400: ErrorBody, 404: ErrorBody, 503: ErrorBody },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const target = await deployments.route(b.model, b.runtime);
      await proxy.forward(
        reply,
        target,
        "/v1/completions",
        {
          model: b.model,
          prompt: b.prompt,
          max_tokens: b.max_tokens ?? 128,
          ...(b.temperature === undefined ? {} : { temperature: b.temperature }),
          ...(b.top_p === undefined ? {} : { top_p: b.top_p }),
          stream: b.stream ?? false,
          ...(b.stream ? { stream_options: { include_usage: true } } : {}),
        },
        { model: b.model, runtime: target.runtime },
      );
    },
  );
}
