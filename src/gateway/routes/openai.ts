/**
 * OpenAI-compatible routes over every ready deployment: `/v1/models` lists them, and
 * `/v1/completions` and `/v1/chat/completions` go to a ready replica of the requested model,
 * unchanged, so OpenAI clients work through the gateway. The worker validates the body itself.
 */
import type { FastifyInstance } from "fastify";
import { TokenForgeError } from "../../errors.js";
import type { Deployments } from "../deployments.js";
import type { WorkerProxy } from "../proxy.js";

export function openAIRoutes(app: FastifyInstance, deployments: Deployments, proxy: WorkerProxy): void {
  app.get(
    "/v1/models",
    { schema: { summary: "Models of every ready deployment (OpenAI shape)" } },
    async () => {
      const ready = await deployments.ready();
      const seen = new Set<string>();
      const data = [];
      for (const d of ready) {
        if (seen.has(d.model)) continue;
        seen.add(d.model);
        data.push({
          id: d.model,
          object: "model",
          created: Math.floor(Date.parse(d.created_at) / 1000),
          owned_by: "tokenforge",
        });
      }
      return { object: "list", data };
    },
  );
  for (const path of ["/v1/completions", "/v1/chat/completions"]) {
    app.post(
      path,
      { schema: { summary: `OpenAI ${path} through a ready deployment` } },
      async (req, reply) => {
        const body = req.body as { model?: unknown } | undefined;
        if (
          typeof body !== "object" ||
          body === null ||
          typeof body.model !== "string" ||
          body.model === ""
        ) {
          throw new TokenForgeError("invalid_request", "model is required: the gateway routes by it", {
            field: "model",
          });
        }
        const target = await deployments.route(body.model);
        await proxy.forward(reply, target, path, body, {
          model: body.model,
          runtime: target.runtime,
        });
      },
    );
  }
}
