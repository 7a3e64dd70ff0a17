/**
 * The worker's HTTP app: the worker protocol (../../shared PROTOCOL.md) in front of one engine.
 * Built without listening so tests can drive it with inject() or a real socket.
 */
import Fastify, { type FastifyInstance } from "fastify";
import type { EngineHolder } from "./engine-holder.js";
import { WorkerMetrics } from "./metrics.js";
import { toHttpError } from "./openai-errors.js";
import { generateRoutes } from "./routes/generate.js";
import { infoRoutes } from "./routes/info.js";

export interface WorkerAppOptions {
  holder: EngineHolder;
  /** Largest request body accepted, in bytes (413 past it). */
  bodyLimit?: number;
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
  });

  app.setErrorHandler((err, _req, reply) => {
    const { status, body } = toHttpError(err);
    if (status === 503) reply.header("retry-after", "1");
    reply.code(status).send(body);
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({
      error: {
        message: `no route ${req.method} ${req.url}`,
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

  generateRoutes(app, { holder, metrics });
  infoRoutes(app, { holder, metrics, startedAt: Date.now() });
  return { app, metrics };
}
