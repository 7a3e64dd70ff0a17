/** GET /health, GET /v1/models, POST /tokenize and GET /metrics. */
import type { FastifyInstance } from "fastify";
import type { Engine } from "../../spec/engine.js";
import type { EngineHolder } from "../engine-holder.js";
import type { WorkerGate } from "../gate.js";
import { checkModel, checkPromptBytes, messagesOf } from "../generation-request.js";
import { limitsBody } from "../limits.js";
import type { WorkerMetrics } from "../metrics.js";
import { TokenizeRequest } from "../schemas.js";
import { requireEngine } from "./ready.js";

interface Deps {
  holder: EngineHolder;
  metrics: WorkerMetrics;
  gate: WorkerGate;
  startedAt: number;
}

function healthBody(engine: Engine, gate: WorkerGate) {
  const stats = engine.stats();
  return {
    status: "ready",
    ...engine.info,
    running: stats.running,
    waiting: stats.waiting,
    kv_cache_usage: stats.kvCacheUsage,
    ...(stats.decodeSteps === undefined ? {} : { decode_steps: stats.decodeSteps }),
    limits: limitsBody(gate.limits(engine)),
  };
}

export function infoRoutes(app: FastifyInstance, deps: Deps): void {
  app.get("/health", async (_req, reply) => {
    const state = deps.holder.state;
    switch (state.status) {
      case "ready":
        return { ...healthBody(state.engine, deps.gate), load_seconds: state.loadSeconds };
      case "loading":
        reply.code(503).header("retry-after", "1");
        return { status: "loading", since: new Date(state.since).toISOString() };
      case "failed":
        reply.code(503);
        return { status: "failed", error: state.error };
      default:
        return state satisfies never;
    }
  });

  app.get("/v1/models", async () => {
    const engine = requireEngine(deps.holder);
    return {
      object: "list",
      data: [
        {
          id: engine.info.model,
          object: "model",
          created: Math.floor(deps.startedAt / 1000),
          owned_by: "tokenforge",
          max_model_len: engine.info.contextLength,
        },
      ],
    };
  });

  app.post("/tokenize", { schema: { body: TokenizeRequest } }, async (req) => {
    const engine = requireEngine(deps.holder);
    const body = req.body as TokenizeRequest;
    const maxBytes = deps.gate.limits(engine).maxPromptBytes;
    if ("content" in body) checkPromptBytes([body.content], "content", maxBytes);
    else if ("messages" in body)
      checkPromptBytes(
        messagesOf(body.messages).map((m) => m.content),
        "messages",
        maxBytes,
      );
    else checkPromptBytes([body.prompt], "prompt", maxBytes);
    if ("content" in body) return { tokens: engine.tokenize({ kind: "text", text: body.content }) };
    checkModel(engine, body.model);
    const tokens =
      "messages" in body
        ? engine.tokenize({ kind: "messages", messages: messagesOf(body.messages) })
        : engine.tokenize({
            kind: "text",
            text: body.prompt,
            addSpecialTokens: body.add_special_tokens ?? true,
          });
    return { count: tokens.length, max_model_len: engine.info.contextLength, tokens };
  });

  app.get("/metrics", async (_req, reply) => {
    reply.header("content-type", deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });
}
