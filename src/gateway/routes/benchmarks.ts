/**
 * POST /benchmarks/run, GET /benchmarks/:id, GET /benchmarks, POST /benchmarks/:id/cancel,
 * POST /benchmarks/:id/resume. A run's file names resolve inside the gateway's directories
 * (paths.ts) and its URL targets pass the allow-list (targets-allow.ts) before anything is stored.
 */
import type { Static } from "@sinclair/typebox";
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import type { RunStatus } from "../../spec/store.js";
import { ownerOf, ownerScope } from "../auth.js";
import type { BenchmarkJobs } from "../benchmarks.js";
import type { Deployments } from "../deployments.js";
import { type CallerRoots, confineBenchmarkBody } from "../paths.js";
import { BenchmarkQuery, BenchmarkRunRequest, ErrorBody, IdParams } from "../schemas.js";
import type { TargetGuard } from "../targets-allow.js";

/** What a run started over the API may touch: files in the caller's directories, URLs on the allow-list. */
export interface RunReach {
  roots: Pick<CallerRoots, "datasetsDir" | "profilesDir">;
  targets: TargetGuard;
  /** The gateway's own deployments, whose endpoints a run may always reach. */
  deployments: Deployments;
}

export function benchmarkRoutes(app: FastifyInstance, jobs: BenchmarkJobs, reach: RunReach): void {
  // URL targets: the caller's role was checked by jobs.start (a user attaches to none), the
  // addresses here, after DNS, against the allow-list and the gateway's own endpoints.
  const checkTargets = async (config: { targets: Record<string, string> }) => {
    if (Object.keys(config.targets).length === 0) return;
    const own = (await reach.deployments.ready()).flatMap((d) => d.endpoints);
    await reach.targets.check(config.targets, own);
  };
  app.post(
    "/benchmarks/run",
    {
      schema: {
        summary: "Run a benchmark config (the harness's format) in the background",
        body: BenchmarkRunRequest,
        // 429: the cap on concurrent runs (caps.ts).
        response: {
          202: Type.Object({ id: Type.String(), status: Type.String() }),
          400: ErrorBody,
          429: ErrorBody,
        },
      },
    },
    async (req, reply) => {
      const body = confineBenchmarkBody(req.body, reach.roots);
      const run = await jobs.start(body, { owner: ownerOf(req), role: req.caller.role }, checkTargets);
      reply.code(202);
      return { id: run.id, status: run.status };
    },
  );
  app.get<{ Params: Static<typeof IdParams> }>(
    "/benchmarks/:id",
    { schema: { summary: "A run: status, progress, results when done, artifacts", params: IdParams } },
    async (req) => {
      const { run, progress, results, artifacts } = await jobs.get(req.params.id, ownerScope(req));
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
      const a = await jobs.artifact(req.params.id, req.params["*"], ownerScope(req));
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
    async (req) => {
      const owner = ownerScope(req);
      return jobs.list({
        ...(owner === undefined ? {} : { owner }),
        ...(req.query.model ? { model: req.query.model } : {}),
        ...(req.query.runtime ? { runtime: req.query.runtime } : {}),
        ...(req.query.status ? { status: req.query.status as RunStatus } : {}),
      });
    },
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
    async (req) => jobs.cancel(req.params.id, ownerScope(req)),
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
      const run = await jobs.resume(req.params.id, { scope: ownerScope(req), role: req.caller.role });
      reply.code(202);
      return { id: run.id, status: run.status };
    },
  );
}
