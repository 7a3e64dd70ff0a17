/**
 * The embedded backend: PostgreSQL compiled to WebAssembly (PGlite) in a data directory, or in
 * memory when the directory is `memory://…` (tests). One process at a time may open a directory.
 */
import { mkdirSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import { TokenForgeError } from "../../errors.js";
import type { Db, Queryable } from "./db.js";

/** True for PGlite's in-memory data directories (`memory://`, optionally with a name). */
export function isMemoryDir(dataDir: string): boolean {
  return dataDir.startsWith("memory://");
}

export async function openPglite(dataDir: string): Promise<Db> {
  let pg: PGlite;
  try {
    if (!isMemoryDir(dataDir)) mkdirSync(dataDir, { recursive: true });
    pg = await PGlite.create(dataDir);
  } catch (err) {
    throw new TokenForgeError(
      "io_error",
      `cannot open the PGlite data directory ${dataDir}: ${message(err)}`,
      {
        cause: err,
      },
    );
  }
  const wrap = (q: Pick<PGlite, "query" | "exec">): Queryable => ({
    async query<T>(sql: string, params: readonly unknown[] = []) {
      const r = await q.query<T>(sql, [...params]);
      return { rows: r.rows };
    },
    async exec(sql: string) {
      await q.exec(sql);
    },
  });
  return {
    kind: "pglite",
    ...wrap(pg),
    transaction: (fn) => pg.transaction((tx) => fn(wrap(tx))),
    close: () => pg.close(),
  };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
