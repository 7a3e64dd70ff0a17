/**
 * POST /benchmarks/run, GET /benchmarks/:id, GET /benchmarks, POST /benchmarks/:id/cancel,
 * POST /benchmarks/:id/resume.
 */
import type { Static } from "@sinclair/typebox";
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import type { RunStatus } from "../../spec/store.js";
import type { BenchmarkJobs } from "../benchmarks.js";
import { BenchmarkQuery, BenchmarkRunRequest, ErrorBody, IdParams } from "../schemas.js";

export function benchmarkRoutes(app: FastifyInstance, jobs: BenchmarkJobs): void {
  app.post(
    "/benchmarks/run",
    {
      schema: {
        summary: "Run a benchmark config (the harness's format) in the background",
        body: BenchmarkRunRequest,
        response: { 202: Type.Object({ id: Type.String(), status: Type.String() }), 400: ErrorBody },
      },
    },
    async (req, reply) => {
      const run = await jobs.start(req.body);
      reply.code(202);
      return { id: run.id, status: run.status };
    },
  );
  app.get<{ Params: Static<typeof IdParams> }>(
    "/benchmarks/:id",
    { schema: { summary: "A run: status, progress, results when done, artifacts", params: IdParams } },
    async (req) => {
      const { run, progress, results, artifacts } = await jobs.get(req.params.id);
      return {
        ...run,
        ...(progress ? { progress } : {}),
        results,
        artifacts: artifacts.map((a) => ({ ...a, href: `/benchmarks/${run.id}/artifacts/${a.name}` })),
      };
    },
  );
  app.get<{ Params: { id: string; "*": string } }>(
    "/benchmarks/:id/artifacts/*",
    {
      schema: {
        summary: "Download one of a run's artifacts (result.json, requests.jsonl.gz, report.html, …)",
      },
    },
    async (req, reply) => {
      const a = await jobs.artifact(req.params.id, req.params["*"]);
      reply.header("content-type", a.contentType);
      return a.body;
    },
  );
  app.get<{ Querystring: Static<typeof BenchmarkQuery> }>(
    "/benchmarks",
    {
      schema: {
        summary: "Runs, newest first, filtered by model, runtime or status",
        querystring: BenchmarkQuery,
      },
    },
    async (req) =>
      jobs.list({
        ...(req.query.model ? { model: req.query.model } : {}),
        ...(req.query.runtime ? { runtime: req.query.runtime } : {}),
        ...(req.query.status ? { status: req.query.status as RunStatus } : {}),
      }),
  );
  app.post<{ Params: Static<typeof IdParams> }>(
    "/benchmarks/:id/cancel",
    {
      schema: {
        summary: "Cancel a queued or running benchmark",
        params: IdParams,
        response: { 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (req) => jobs.cancel(req.params.id),
  );
  app.post<{ Params: Static<typeof IdParams> }>(
    "/benchmarks/:id/resume",
    {
      schema: {
        summary: "Run an interrupted benchmark's unfinished workloads with the same plan and seed",
        params: IdParams,
        response: {
          202: Type.Object({ id: Type.String(), status: Type.String() }),
          400: ErrorBody,
          404: ErrorBody,
        },
      },
    },
    async (req, reply) => {
      const run = await jobs.resume(req.params.id);
      reply.code(202);
      return { id: run.id, status: run.status };
    },
  );
}
