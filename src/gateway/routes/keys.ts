/**
 * GET /keys, POST /keys, DELETE /keys/:id: API key management, admin only (auth.ts). A created
 * key's secret is in that one answer (`key`), never again: the store keeps only its SHA-256.
 * Revoking keeps the row (who had access, and when) and refuses the key from then on.
 */
import { type Static, Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import type { Store } from "../../spec/store.js";
import { createApiKey, type KeyRing, keyView, revokeApiKey } from "../api-keys.js";
import { ErrorBody } from "../schemas.js";

const Role = Type.Union([Type.Literal("admin"), Type.Literal("user")]);

const KeyView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: Role,
  created_at: Type.String(),
  revoked_at: Type.Optional(Type.String()),
  last_used_at: Type.Optional(Type.String()),
});

const CreateKey = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 200 }), role: Role },
  { additionalProperties: false },
);

const KeyParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 64 }) },
  { additionalProperties: false },
);

export function keyRoutes(app: FastifyInstance, store: Store, keys: KeyRing): void {
  const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody };
  app.get(
    "/keys",
    {
      schema: {
        summary: "Every API key (revoked ones included), without secrets; admin only",
        response: { 200: Type.Array(KeyView), ...errors },
      },
    },
    async () => (await store.listApiKeys()).map(keyView),
  );
  app.post<{ Body: Static<typeof CreateKey> }>(
    "/keys",
    {
      schema: {
        summary: "Create an API key; its secret (`key`) is shown in this answer only; admin only",
        body: CreateKey,
        response: { 201: Type.Composite([KeyView, Type.Object({ key: Type.String() })]), ...errors },
      },
    },
    async (req, reply) => {
      const { key, secret } = await createApiKey(store, req.body.name, req.body.role);
      await keys.reload();
      reply.code(201).header("cache-control", "no-store");
      return { ...key, key: secret };
    },
  );
  app.delete<{ Params: Static<typeof KeyParams> }>(
    "/keys/:id",
    {
      schema: {
        summary: "Revoke an API key (refused from now on; its record stays); admin only",
        params: KeyParams,
        response: { 200: KeyView, 404: ErrorBody, ...errors },
      },
    },
    async (req) => {
      const view = await revokeApiKey(store, req.params.id);
      await keys.reload();
      return view;
    },
  );
}
