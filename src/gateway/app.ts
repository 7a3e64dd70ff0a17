/**
 * The gateway's HTTP app (`tokenforge serve`): deployments, inference routed to ready workers,
 * OpenAI-compatible routes over every ready deployment, and benchmark runs in the background.
 * Request and response schemas (schemas.ts) give validation and the OpenAPI document
 * (`/openapi.json`, docs page at `/docs`). Built without listening, for inject() in tests.
 */
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import Fastify, { type FastifyInstance } from "fastify";
import type { RuntimeRegistry } from "../runtimes/registry.js";
import type { ArtifactStore, Store } from "../spec/store.js";
import { VERSION } from "../version.js";
import { toHttpError } from "../worker/openai-errors.js";
import { BenchmarkJobs } from "./benchmarks.js";
import type { Deployments } from "./deployments.js";
import { GatewayMetrics } from "./metrics.js";
import { WorkerProxy } from "./proxy.js";
import { benchmarkRoutes } from "./routes/benchmarks.js";
import { compareRoutes } from "./routes/compare.js";
import { deploymentRoutes } from "./routes/deployments.js";
import { inferRoutes } from "./routes/infer.js";
import { openAIRoutes } from "./routes/openai.js";
import { uiRoutes } from "./routes/ui.js";

export interface GatewayOptions {
  store: Store;
  deployments: Deployments;
  runtimes: RuntimeRegistry;
  artifacts: ArtifactStore;
  resultsDir: string;
  bodyLimit?: number;
  logger?: boolean;
}

export interface Gateway {
  app: FastifyInstance;
  jobs: BenchmarkJobs;
  /** Stops background runs and closes the proxy (deployments are the caller's to close). */
  close(): Promise<void>;
}

export async function buildGateway(o: GatewayOptions): Promise<Gateway> {
  const app = Fastify({
    logger: o.logger ?? false,
    bodyLimit: o.bodyLimit ?? 1024 * 1024,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    return503OnClosing: true,
  });
  app.setErrorHandler((err, req, reply) => {
    const { status, body } = toHttpError(err);
    if (status === 503) reply.header("retry-after", "2");
    if (req.url.startsWith("/v1/")) {
      reply.code(status).send(body);
      return;
    }
    const e = body.error;
    reply.code(status).send({
      error: { code: e.code ?? e.type, message: e.message, ...(e.param ? { field: e.param } : {}) },
    });
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({ error: { code: "not_found", message: `no route ${req.method} ${req.url}` } });
  });
  await app.register(swagger, {
    openapi: {
      info: {
        title: "TokenForge gateway",
        version: VERSION,
        description: "Deploy, serve and benchmark LLM inference engines.",
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });

  const metrics = new GatewayMetrics(o.deployments);
  app.addHook("onResponse", (req, reply, done) => {
    metrics.httpRequests.inc({
      method: req.method,
      route: req.routeOptions.url ?? "unmatched",
      status: String(reply.statusCode),
    });
    done();
  });
  app.get("/metrics", { schema: { hide: true } }, async (_req, reply) => {
    reply.header("content-type", metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  const proxy = new WorkerProxy(metrics);
  const jobs = new BenchmarkJobs({
    store: o.store,
    deployments: o.deployments,
    runtimes: o.runtimes,
    artifacts: o.artifacts,
    resultsDir: o.resultsDir,
  });
  deploymentRoutes(app, o.deployments);
  inferRoutes(app, o.deployments, proxy);
  openAIRoutes(app, o.deployments, proxy);
  benchmarkRoutes(app, jobs);
  compareRoutes(app, jobs);
  uiRoutes(app);
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());
  app.get("/health", { schema: { hide: true } }, async () => ({ status: "ok", version: VERSION }));
  await app.ready();
  return {
    app,
    jobs,
    close: async () => {
      await jobs.close();
      await proxy.close();
    },
  };
}
