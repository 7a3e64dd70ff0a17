/**
 * PUT /datasets/:name stores an uploaded dataset (JSON lines or a ShareGPT JSON file) in the
 * gateway's datasets directory, where runs name it (`dataset: {jsonl: NAME}`); GET /datasets lists
 * what is there. The name is one plain file name: the upload can land nowhere else. Written to a
 * temporary file and renamed into place, so a run never reads half an upload, and a symlink of
 * the same name is replaced rather than followed.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Static, Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { TokenForgeError } from "../../errors.js";
import { insideRoot } from "../paths.js";
import { ErrorBody } from "../schemas.js";

/** The largest upload accepted (413 beyond it). */
export const MAX_DATASET_BYTES = 64 * 1024 * 1024;

const DatasetName = Type.String({
  pattern: "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\\.(jsonl|json)$",
  description: "a file name ending .jsonl or .json (letters, digits, . _ -)",
});
const DatasetParams = Type.Object({ name: DatasetName }, { additionalProperties: false });
const DatasetEntry = Type.Object({ name: Type.String(), bytes: Type.Integer() });

export function datasetRoutes(app: FastifyInstance, datasetsDir: string | undefined): void {
  const dir = () => {
    if (datasetsDir === undefined) {
      throw new TokenForgeError(
        "not_found",
        "this gateway has no datasets directory (start it with --datasets-dir)",
        { field: "name" },
      );
    }
    return datasetsDir;
  };
  void app.register(async (scope) => {
    // The body is the file as it is, never parsed here (a run reads and checks it); a ShareGPT
    // JSON file is sent as application/octet-stream, so the JSON parser never holds it.
    scope.addContentTypeParser(
      ["application/x-ndjson", "application/jsonl", "text/plain", "application/octet-stream"],
      { parseAs: "buffer", bodyLimit: MAX_DATASET_BYTES },
      (_req, body, done) => done(null, body),
    );
    scope.put<{ Params: Static<typeof DatasetParams>; Body: Buffer }>(
      "/datasets/:name",
      {
        bodyLimit: MAX_DATASET_BYTES,
        schema: {
          summary: "Store a dataset file (JSON lines or ShareGPT JSON) that runs then name",
          params: DatasetParams,
          response: { 201: DatasetEntry, 400: ErrorBody, 404: ErrorBody },
        },
      },
      async (req, reply) => {
        const root = dir();
        const body = req.body;
        if (!Buffer.isBuffer(body) || body.length === 0) {
          throw new TokenForgeError("invalid_request", "the body is the dataset file and may not be empty", {
            field: "body",
          });
        }
        mkdirSync(root, { recursive: true });
        const temp = join(root, `.upload-${randomUUID()}`);
        try {
          writeFileSync(temp, body, { flag: "wx", mode: 0o640 });
          renameSync(temp, join(root, req.params.name));
        } catch (err) {
          try {
            unlinkSync(temp);
          } catch {
            // Never written.
          }
          throw err;
        }
        reply.code(201);
        return { name: req.params.name, bytes: body.length };
      },
    );
  });
  app.get(
    "/datasets",
    {
      config: { access: "user" },
      schema: { summary: "The datasets runs may name", response: { 200: Type.Array(DatasetEntry) } },
    },
    async () => {
      if (datasetsDir === undefined) return [];
      let names: string[];
      try {
        names = readdirSync(datasetsDir);
      } catch {
        return [];
      }
      const out: { name: string; bytes: number }[] = [];
      for (const name of names.sort()) {
        // Only what a run could name: a link out of the directory is not listed.
        const real = name.startsWith(".") ? undefined : insideRoot(datasetsDir, name);
        if (real === undefined) continue;
        try {
          out.push({ name, bytes: statSync(real).size });
        } catch {
          // Gone while listing.
        }
      }
      return out;
    },
  );
}
