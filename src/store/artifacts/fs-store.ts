/**
 * The default artifact store: files under a local directory, `<root>/<runId>/<name>`. Every write
 * goes to a temporary file first and is renamed into place, so a reader never sees half a file.
 */
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { TokenForgeError } from "../../errors.js";
import type { ArtifactStore } from "../../spec/store.js";
import { writeFileAtomic } from "./atomic-write.js";
import { checkArtifactPath } from "./names.js";

/** Artifacts in a local directory; nothing is ever pending. */
export class FsArtifactStore implements ArtifactStore {
  readonly rootDir: string;

  constructor(rootDir: string) {
    this.rootDir = resolve(rootDir);
  }

  /** Where `runId/name` lives on disk (after checking both). */
  pathOf(runId: string, name: string): string {
    checkArtifactPath(runId, name);
    return join(this.rootDir, runId, ...name.split("/"));
  }

  async put(runId: string, name: string, body: Buffer, _contentType: string) {
    const path = this.pathOf(runId, name);
    try {
      await writeFileAtomic(path, body);
    } catch (err) {
      throw new TokenForgeError(
        "io_error",
        `cannot write artifact ${runId}/${name} to ${path}: ${message(err)}`,
        {
          cause: err,
        },
      );
    }
    return { uri: pathToFileURL(path).href, uploaded: true };
  }

  async get(runId: string, name: string): Promise<Buffer | undefined> {
    const path = this.pathOf(runId, name);
    try {
      return await readFile(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new TokenForgeError(
        "io_error",
        `cannot read artifact ${runId}/${name} from ${path}: ${message(err)}`,
        {
          cause: err,
        },
      );
    }
  }

  async retryPending(): Promise<number> {
    return 0;
  }

  async close(): Promise<void> {}
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
