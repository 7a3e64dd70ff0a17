/**
 * The gateway's HTTP app (`tokenforge serve`): deployments, inference routed to ready workers,
 * OpenAI-compatible routes over every ready deployment, and benchmark runs in the background.
 * Request and response schemas (schemas.ts) give validation and the OpenAPI document
 * (`/openapi.json`, docs page at `/docs`). Built without listening, for inject() in tests.
 */
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import Fastify, { type FastifyInstance, type FastifyReply } from "fastify";
import { capText } from "../bounded-parse.js";
import type { RuntimeRegistry } from "../runtimes/registry.js";
import type { ArtifactStore, Store } from "../spec/store.js";
import { VERSION } from "../version.js";
import { useBoundedJsonParser } from "../worker/json-body.js";
import { toHttpError } from "../worker/openai-errors.js";
import { DeploymentAdmission } from "./admission.js";
import { KeyRing } from "./api-keys.js";
import { type GatewayAuth, installAuth, type KeyLimits } from "./auth.js";
import { BenchmarkJobs } from "./benchmarks.js";
import { CAP_SETTINGS, isCapReached } from "./caps.js";
import type { Deployments } from "./deployments.js";
import { GatewayMetrics } from "./metrics.js";
import type { CallerRoots } from "./paths.js";
import { WorkerProxy } from "./proxy.js";
import { benchmarkRoutes } from "./routes/benchmarks.js";
import { compareRoutes } from "./routes/compare.js";
import { datasetRoutes } from "./routes/datasets.js";
import { deploymentRoutes } from "./routes/deployments.js";
import { inferRoutes } from "./routes/infer.js";
import { keyRoutes } from "./routes/keys.js";
import { openAIRoutes } from "./routes/openai.js";
import { sdRoutes } from "./routes/sd.js";
import { uiRoutes } from "./routes/ui.js";
import { NO_TARGETS, type TargetAllowList, TargetGuard } from "./targets-allow.js";

export interface GatewayOptions {
  store: Store;
  deployments: Deployments;
  runtimes: RuntimeRegistry;
  artifacts: ArtifactStore;
  resultsDir: string;
  bodyLimit?: number;
  /** Generation requests forwarded to one deployment at once; more get 429 (admission.ts). */
  maxInFlightPerDeployment?: number;
  logger?: boolean;
  /** Keys, roles, `Host` checking and per-key limits (auth.ts); by default open while no key exists. */
  auth?: GatewayAuthOptions;
  /** The key the local backend gave its workers: sent to them with every forwarded request. */
  workerApiKey?: string;
  /** Where callers' dataset and cost-profile names resolve (paths.ts); no datasets directory: none. */
  callerRoots?: Pick<CallerRoots, "datasetsDir" | "profilesDir">;
  /** URLs runs may reach beyond the gateway's own deployments (targets-allow.ts); default none. */
  allowTargets?: TargetAllowList;
  /** Benchmark runs queued or running at once (caps.ts). */
  maxConcurrentRuns?: number;
}

export interface GatewayAuthOptions {
  /** An admin key from the environment (TOKENFORGE_ADMIN_KEY), kept in memory only. */
  envAdminKey?: string;
  /** Serve without keys while none exists; the composition root sets it for loopback only. Default true. */
  openWhenNoKeys?: boolean;
  /** Require a key for /metrics and service discovery. */
  metricsAuth?: boolean;
  /** The listen address (its names pass the `Host` check). */
  listenHost?: string;
  /** More names `Host` may carry (`*` for any). */
  allowedHosts?: readonly string[];
  limits?: Partial<KeyLimits>;
}

export interface Gateway {
  app: FastifyInstance;
  jobs: BenchmarkJobs;
  /** Every route with its access level, and whether the gateway serves open. */
  auth: GatewayAuth;
  keys: KeyRing;
  /** Stops background runs and closes the proxy (deployments are the caller's to close). */
  close(): Promise<void>;
}

export async function buildGateway(o: GatewayOptions): Promise<Gateway> {
  const app = Fastify({
    logger: o.logger ?? false,
    bodyLimit: o.bodyLimit ?? 1024 * 1024,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    return503OnClosing: true,
    // A URL the router refuses (a parameter too long, a malformed path) gets the coded error body too.
    frameworkErrors: (err, req, reply) => {
      const { status, body } = toHttpError(err);
      const e = body.error;
      (reply as FastifyReply)
        .code(status)
        .send(req.url.startsWith("/v1/") ? body : { error: { code: e.code ?? e.type, message: e.message } });
    },
  });
  useBoundedJsonParser(app);
  app.setErrorHandler((err, req, reply) => {
    const { status, body } = toHttpError(err);
    if (isCapReached(err)) metrics.capRefusals.inc({ cap: CAP_SETTINGS[err.cap].label });
    if (status === 503) reply.header("retry-after", "2");
    if (status === 429 && !reply.hasHeader("retry-after")) reply.header("retry-after", "1");
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
    reply
      .code(404)
      .send({ error: { code: "not_found", message: `no route ${req.method} ${capText(req.url, 300)}` } });
  });
  const metrics = new GatewayMetrics(o.deployments);
  // Before any route: the access hook sees (and lists) every route, the docs' included.
  const keys = new KeyRing(o.store, { envAdminKey: o.auth?.envAdminKey });
  await keys.reload();
  const auth = installAuth(app, { ...o.auth, keys, metrics });
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
  const workerAuth: Record<string, string> =
    o.workerApiKey === undefined ? {} : { authorization: `Bearer ${o.workerApiKey}` };
  const proxy = new WorkerProxy(metrics, new DeploymentAdmission(o.maxInFlightPerDeployment), workerAuth);
  const jobs = new BenchmarkJobs({
    store: o.store,
    deployments: o.deployments,
    runtimes: o.runtimes,
    artifacts: o.artifacts,
    resultsDir: o.resultsDir,
    ...(o.workerApiKey === undefined ? {} : { workerApiKey: o.workerApiKey }),
    ...(o.maxConcurrentRuns === undefined ? {} : { maxConcurrentRuns: o.maxConcurrentRuns }),
  });
  deploymentRoutes(app, o.deployments);
  inferRoutes(app, o.deployments, proxy);
  openAIRoutes(app, o.deployments, proxy);
  benchmarkRoutes(app, jobs, {
    roots: o.callerRoots ?? {},
    targets: new TargetGuard(o.allowTargets ?? NO_TARGETS),
    deployments: o.deployments,
  });
  compareRoutes(app, jobs);
  datasetRoutes(app, o.callerRoots?.datasetsDir);
  uiRoutes(app);
  sdRoutes(app, o.deployments, o.runtimes);
  keyRoutes(app, o.store, keys);
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());
  app.get("/health", { schema: { hide: true } }, async () => ({ status: "ok", version: VERSION }));
  await app.ready();
  return {
    app,
    jobs,
    auth,
    keys,
    close: async () => {
      await jobs.close();
      await proxy.close();
      await keys.close();
    },
  };
}
