/** The local-directory artifact store (through the factory) against the artifact-store suite. */
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { openArtifactStore } from "../../src/store/artifacts/index.js";
import { defineArtifactStoreConformance } from "./artifact-store.js";

defineArtifactStoreConformance("fs", async () => {
  // The store's root is a directory inside `dir`: anything written beside the root shows too.
  const dir = await mkdtemp(join(tmpdir(), "tokenforge-artifacts-"));
  const root = join(dir, "store");
  const store = openArtifactStore({ kind: "fs", dir: root });
  const pathOf = (runId: string, name: string) => join(root, runId, ...name.split("/"));
  return {
    store,
    uriOf: (runId, name) => pathToFileURL(pathOf(runId, name)).href,
    stored: async () => {
      const entries = await readdir(dir, { recursive: true, withFileTypes: true });
      return entries
        .filter((e) => e.isFile())
        .map((e) => {
          const path = join(e.parentPath, e.name);
          return path.startsWith(`${root}/`) ? path.slice(root.length + 1) : path;
        })
        .sort();
    },
    read: (runId, name) => readFile(pathOf(runId, name)).catch(() => undefined),
    close: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
