/**
 * Starts a worker: listen first (so /health answers 503 while loading), then resolve and load the
 * model, and close everything on SIGINT/SIGTERM.
 */
import type { FastifyInstance } from "fastify";
import type { ResolvedModel } from "../spec/model.js";
import type { EngineOptions, RuntimeDefinition } from "../spec/runtime.js";
import { buildWorkerApp } from "./app.js";
import { EngineHolder } from "./engine-holder.js";
import type { WorkerLimits } from "./limits.js";

export interface WorkerOptions {
  runtime: RuntimeDefinition;
  resolveModel: () => Promise<ResolvedModel>;
  engine: Omit<EngineOptions, "model">;
  host: string;
  port: number;
  /** Admission, prompt size and default max_tokens; unset ones take limits.ts's defaults. */
  limits?: WorkerLimits;
  /** When set, the API (all but /health and /metrics) needs this key as a Bearer token. */
  apiKey?: string;
  logger?: boolean;
}

export interface RunningWorker {
  app: FastifyInstance;
  holder: EngineHolder;
  url: string;
  /** Settles when loading has finished, one way or the other. */
  loaded: Promise<void>;
  close(): Promise<void>;
}

export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const createEngine = options.runtime.createEngine;
  if (!createEngine) throw new Error(`runtime ${options.runtime.name} cannot run inside the worker`);
  const holder = new EngineHolder();
  const { app } = buildWorkerApp({
    holder,
    logger: options.logger ?? false,
    ...(options.limits === undefined ? {} : { limits: options.limits }),
    ...(options.apiKey === undefined ? {} : { apiKey: options.apiKey }),
  });
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  const loaded = holder.load(async () =>
    createEngine({ ...options.engine, model: await options.resolveModel() }),
  );
  return {
    app,
    holder,
    url: `http://${options.host.includes(":") ? `[${options.host}]` : options.host}:${port}`,
    loaded,
    async close() {
      await app.close();
      await loaded;
      await holder.engine?.close();
    },
  };
}
