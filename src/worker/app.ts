/**
 * The worker's HTTP app: the worker protocol (../../shared PROTOCOL.md) in front of one engine.
 * Built without listening so tests can drive it with inject() or a real socket.
 */
import Fastify, { type FastifyInstance, type FastifyReply } from "fastify";
import { capText } from "../bounded-parse.js";
import { requireApiKey } from "./api-key.js";
import type { EngineHolder } from "./engine-holder.js";
import { WorkerGate } from "./gate.js";
import { useBoundedJsonParser } from "./json-body.js";
import type { WorkerLimits } from "./limits.js";
import { WorkerMetrics } from "./metrics.js";
import { toHttpError } from "./openai-errors.js";
import { generateRoutes } from "./routes/generate.js";
import { infoRoutes } from "./routes/info.js";

export interface WorkerAppOptions {
  holder: EngineHolder;
  /** Largest request body accepted, in bytes (413 past it). */
  bodyLimit?: number;
  /** Admission, prompt size and default max_tokens (limits.ts has the defaults). */
  limits?: WorkerLimits;
  /** When set, every route but /health and /metrics needs `Authorization: Bearer <apiKey>` (api-key.ts). */
  apiKey?: string;
  logger?: boolean;
}

export function buildWorkerApp(options: WorkerAppOptions): { app: FastifyInstance; metrics: WorkerMetrics } {
  const { holder } = options;
  const metrics = new WorkerMetrics(() => {
    const engine = holder.engine;
    return engine ? { ...engine.stats(), model: engine.info.model } : undefined;
  });
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: options.bodyLimit ?? 8 * 1024 * 1024,
    // Types are checked as sent: "16" is not a number, and unknown keys are refused, not dropped.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    return503OnClosing: true,
    // A URL the router refuses (a parameter too long, a malformed path) gets the coded error body too.
    frameworkErrors: (err, _req, reply) => {
      const { status, body } = toHttpError(err);
      (reply as FastifyReply).code(status).send(body);
    },
  });
  useBoundedJsonParser(app);
  if (options.apiKey !== undefined) requireApiKey(app, options.apiKey);

  app.setErrorHandler((err, _req, reply) => {
    const { status, body } = toHttpError(err);
    if ((status === 503 || status === 429) && !reply.hasHeader("retry-after"))
      reply.header("retry-after", "1");
    reply.code(status).send(body);
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({
      error: {
        message: `no route ${req.method} ${capText(req.url, 300)}`,
        type: "not_found_error",
        param: null,
        code: "not_found",
      },
    });
  });
  app.addHook("onResponse", (req, reply, done) => {
    const route = req.routeOptions.url ?? "unmatched";
    metrics.httpRequests.inc({ method: req.method, route, status: String(reply.statusCode) });
    done();
  });

  const gate = new WorkerGate(options.limits ?? {}, holder, metrics);
  generateRoutes(app, { holder, metrics, gate });
  infoRoutes(app, { holder, metrics, gate, startedAt: Date.now() });
  return { app, metrics };
}
