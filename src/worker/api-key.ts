/**
 * The worker's API key (`--api-key`, TOKENFORGE_WORKER_API_KEY), as vLLM's `--api-key`: when set,
 * every route but `/health` and `/metrics` needs `Authorization: Bearer <key>`, checked before the
 * body is read; otherwise 401 in OpenAI's error shape. The key is compared by its SHA-256 in
 * constant time, and never logged or echoed.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { openAIError } from "./openai-errors.js";

/** Routes a scraper or a health probe reads without the key. */
const OPEN_PATHS = new Set(["/health", "/metrics"]);

function digest(s: string): Buffer {
  return createHash("sha256").update(s, "utf8").digest();
}

export function requireApiKey(app: FastifyInstance, key: string): void {
  const expected = digest(key);
  app.addHook("onRequest", async (req, reply) => {
    const path = req.url.split("?", 1)[0]!;
    if (OPEN_PATHS.has(path)) return;
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(req.headers.authorization ?? "");
    if (m && timingSafeEqual(digest(m[1]!), expected)) return;
    const { status, body } = openAIError(
      401,
      m ? "invalid API key" : "an API key is required: send Authorization: Bearer <key>",
      null,
      "unauthorized",
    );
    reply.header("www-authenticate", 'Bearer realm="tokenforge-worker"');
    return reply.code(status).send(body);
  });
}
