/**
 * The spool's list of artifacts waiting for an upload: `<spoolDir>/.pending.json`, rewritten
 * atomically on every change, so it survives a restart and is never half written. Changes made
 * through one instance are serialized; two processes must not share a spool directory.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { TokenForgeError } from "../../errors.js";
import { writeFileAtomic } from "./atomic-write.js";
import { checkArtifactPath } from "./names.js";

export const PENDING_FILE = ".pending.json";
const VERSION = 1;

/** One artifact whose bytes are in the spool and not (yet) in the bucket. */
export interface PendingEntry {
  runId: string;
  name: string;
  contentType: string;
  bytes: number;
  /** New on every put of the same name, so a finished older upload never removes a newer copy. */
  token: string;
  /** When it was first spooled (ISO 8601). */
  since: string;
  /** Upload attempts that failed so far. */
  attempts: number;
  lastError?: string;
}

export class PendingIndex {
  readonly path: string;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(spoolDir: string) {
    this.path = join(spoolDir, PENDING_FILE);
  }

  /** The entries as they are on disk now. */
  list(): Promise<PendingEntry[]> {
    return this.serial(() => this.read());
  }

  /** Replaces the entries with what `change` returns (written only when something changed). */
  update(change: (entries: PendingEntry[]) => PendingEntry[]): Promise<PendingEntry[]> {
    return this.serial(async () => {
      const before = await this.read();
      const after = change(before.map((e) => ({ ...e })));
      if (JSON.stringify(after) !== JSON.stringify(before)) {
        await writeFileAtomic(
          this.path,
          `${JSON.stringify({ version: VERSION, entries: after }, null, 2)}\n`,
        );
      }
      return after;
    });
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => {});
    return next;
  }

  private async read(): Promise<PendingEntry[]> {
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw new TokenForgeError("io_error", `cannot read the pending-upload index ${this.path}`, {
        cause: err,
      });
    }
    try {
      const doc = JSON.parse(text) as { version?: unknown; entries?: unknown };
      if (doc.version !== VERSION || !Array.isArray(doc.entries))
        throw new Error(`not a version ${VERSION} index`);
      for (const e of doc.entries as PendingEntry[]) {
        checkArtifactPath(e.runId, e.name);
        if (typeof e.token !== "string" || typeof e.contentType !== "string")
          throw new Error("entry without token");
      }
      return doc.entries as PendingEntry[];
    } catch (err) {
      throw new TokenForgeError(
        "io_error",
        `the pending-upload index ${this.path} is damaged (${err instanceof Error ? err.message : String(err)}); ` +
          "the spooled files beside it are intact",
        { cause: err },
      );
    }
  }
}
