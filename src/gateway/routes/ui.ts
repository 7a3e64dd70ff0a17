/**
 * The web UI: GET /ui (the page, with a Content-Security-Policy under a fresh nonce), GET / (to
 * /ui), and POST /ui/config, which reads a pasted YAML or JSON config into the JSON that
 * POST /benchmarks/run takes (the browser has no YAML reader). Hidden from the OpenAPI document.
 */
import { randomBytes } from "node:crypto";
import type { FastifyInstance, FastifyReply } from "fastify";
import { parseYamlBounded } from "../../bounded-parse.js";
import { TokenForgeError } from "../../errors.js";
import { VERSION } from "../../version.js";
import { readUiScript, renderUiPage, uiContentSecurityPolicy } from "../ui/page.js";

export function uiRoutes(app: FastifyInstance): void {
  const hide = { schema: { hide: true } };
  const page = async (_req: unknown, reply: FastifyReply) => {
    const script = await readUiScript();
    const nonce = randomBytes(18).toString("base64");
    reply
      .header("content-type", "text/html; charset=utf-8")
      .header("content-security-policy", uiContentSecurityPolicy(nonce))
      .header("x-content-type-options", "nosniff")
      .header("referrer-policy", "no-referrer")
      .header("cache-control", "no-store");
    return renderUiPage(nonce, VERSION, script);
  };
  app.get("/ui", hide, page);
  app.get("/ui/", hide, page);
  app.get("/", hide, async (_req, reply) => reply.redirect("/ui", 302));
  app.post<{ Body: string }>(
    "/ui/config",
    { schema: { hide: true, body: { type: "string" } } },
    async (req) => configFromText(req.body),
  );
}

/**
 * YAML (which reads JSON too) to a plain value, within the bounds every config is read with (size,
 * nesting, aliases: an alias bomb or an unresolved alias is a 400); every syntax problem named.
 */
export function configFromText(text: string): unknown {
  const parsed = parseYamlBounded(text);
  if (!parsed.ok) {
    const lines = parsed.problems.map(
      (p) =>
        `  - ${p
          .replace(/^not valid YAML: /, "")
          .split("\n")[0]!
          .replace(/:$/, "")}`,
    );
    const count = parsed.problems.length === 1 ? "1 problem" : `${parsed.problems.length} problems`;
    throw new TokenForgeError(
      "invalid_request",
      `the config is not valid YAML or JSON (${count}):\n${lines.join("\n")}`,
      { field: "config" },
    );
  }
  const value = parsed.value;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TokenForgeError(
      "invalid_request",
      "the config must be a mapping (model, runtimes, workloads, …)",
      { field: "config" },
    );
  }
  return value;
}
