/**
 * GET /benchmarks/compare?a=ID&b=ID&threshold=5: two stored runs compared metric by metric, the
 * way `tokenforge compare` compares two result files (bench/compare.ts), with each run's identity.
 */
import { type Static, Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { compareResults, ResultFileError, validateResultFile } from "../../bench/compare.js";
import { TokenForgeError } from "../../errors.js";
import { ownerScope } from "../auth.js";
import type { BenchmarkJobs } from "../benchmarks.js";
import { ErrorBody } from "../schemas.js";

/** Percent threshold when the query gives none: the CLI's default too. */
export const DEFAULT_THRESHOLD_PCT = 5;

const RunId = Type.String({ minLength: 1, maxLength: 128 });
const Percent = Type.String({ pattern: "^[0-9]+(\\.[0-9]+)?$", description: "a percentage, e.g. 5" });

export const CompareQuery = Type.Object(
  {
    a: RunId,
    b: RunId,
    threshold: Type.Optional(Percent),
    noise_floor: Type.Optional(Percent),
  },
  { additionalProperties: false },
);

export function compareRoutes(app: FastifyInstance, jobs: BenchmarkJobs): void {
  app.get<{ Querystring: Static<typeof CompareQuery> }>(
    "/benchmarks/compare",
    {
      schema: {
        summary: "Two runs compared metric by metric: change, noise and a verdict for each",
        querystring: CompareQuery,
        response: { 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (req) => {
      const q = req.query;
      const scope = ownerScope(req);
      const [a, b] = [await side(jobs, q.a, "a", scope), await side(jobs, q.b, "b", scope)];
      const comparison = compareResults(a.file, b.file, {
        thresholdPct: q.threshold === undefined ? DEFAULT_THRESHOLD_PCT : Number(q.threshold),
        ...(q.noise_floor === undefined ? {} : { noiseFloorPct: Number(q.noise_floor) }),
      });
      return { a: a.run, b: b.run, ...comparison };
    },
  );
}

/** One run's identity and its results in the shape of a result file; 404 unknown, 400 no results. */
async function side(jobs: BenchmarkJobs, id: string, field: "a" | "b", scope: string | undefined) {
  let got: Awaited<ReturnType<BenchmarkJobs["get"]>>;
  try {
    got = await jobs.get(id, scope);
  } catch (err) {
    if (err instanceof TokenForgeError && err.code === "not_found")
      throw new TokenForgeError("not_found", err.message, { field });
    throw err;
  }
  const { run, results } = got;
  if (results.length === 0) {
    throw new TokenForgeError(
      "invalid_request",
      `run ${id} has no results to compare (it is ${run.status})`,
      {
        field,
      },
    );
  }
  const raw = {
    results: results.map((r) => ({ workload: r.workload, runtime: r.runtime, metrics: r.metrics })),
  };
  try {
    return {
      run: {
        id: run.id,
        model: run.model,
        runtimes: run.runtimes,
        status: run.status,
        createdAt: run.createdAt,
      },
      file: validateResultFile(raw, `run ${id}`),
    };
  } catch (err) {
    if (err instanceof ResultFileError) throw new TokenForgeError("invalid_request", err.message, { field });
    throw err;
  }
}
