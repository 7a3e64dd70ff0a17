/**
 * The JSON body parser of the worker and the gateway: Fastify's own (size limit, prototype
 * poisoning refused), behind a nesting check on the text, so a body nested thousands deep is a
 * 400 before anything recurses over it (schema validation, the config checks, a forward).
 */
import type { FastifyInstance } from "fastify";
import { DEFAULT_MAX_DEPTH, jsonDepthExceeded } from "../bounded-parse.js";
import { TokenForgeError } from "../errors.js";

export function useBoundedJsonParser(app: FastifyInstance, maxDepth = DEFAULT_MAX_DEPTH): void {
  const parse = app.getDefaultJsonParser("error", "ignore");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (req, body, done) => {
    const text = body as string;
    const at = jsonDepthExceeded(text, maxDepth);
    if (at >= 0) {
      done(
        new TokenForgeError(
          "invalid_request",
          `the body is nested deeper than ${maxDepth} levels (at character ${at})`,
          { field: "body" },
        ),
        undefined,
      );
      return;
    }
    parse(req, text, done);
  });
}
