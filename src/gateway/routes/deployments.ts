/** POST /deploy, GET /deployments, GET /deployments/:id, DELETE /deployments/:id. */
import type { Static } from "@sinclair/typebox";
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import type { Deployments } from "../deployments.js";
import { DeploymentView, DeployRequest, ErrorBody, IdParams } from "../schemas.js";

export function deploymentRoutes(app: FastifyInstance, deployments: Deployments): void {
  const errors = { 400: ErrorBody, 404: ErrorBody };
  app.post<{ Body: DeployRequest }>(
    "/deploy",
    {
      schema: {
        summary: "Deploy a model on a runtime (local processes or Kubernetes)",
        body: DeployRequest,
        // 409: a cap of caps.ts reached (deployments, replicas, worker processes).
        response: {
          202: Type.Object({ id: Type.String(), status: Type.String() }),
          409: ErrorBody,
          ...errors,
        },
      },
    },
    async (req, reply) => {
      const d = await deployments.deploy(req.body);
      reply.code(202);
      return { id: d.id, status: d.status };
    },
  );
  app.get(
    "/deployments",
    {
      schema: { summary: "Every deployment with its status", response: { 200: Type.Array(DeploymentView) } },
    },
    async () => deployments.list(),
  );
  app.get<{ Params: Static<typeof IdParams> }>(
    "/deployments/:id",
    {
      schema: {
        summary: "One deployment: status, endpoints, events, last error",
        params: IdParams,
        response: { 200: DeploymentView, ...errors },
      },
    },
    async (req) => deployments.get(req.params.id),
  );
  app.delete<{ Params: Static<typeof IdParams> }>(
    "/deployments/:id",
    {
      schema: {
        summary: "Stop and remove a deployment",
        params: IdParams,
        response: { 200: DeploymentView, ...errors },
      },
    },
    async (req) => deployments.delete(req.params.id),
  );
}
