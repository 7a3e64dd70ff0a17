/**
 * The server backend: a node-postgres pool on DATABASE_URL. The URL may carry libpq options, e.g.
 * `?options=-c%20search_path%3Dtokenforge` to keep the tables in their own schema.
 */
import pg from "pg";
import { TokenForgeError } from "../../errors.js";
import type { Db, Queryable } from "./db.js";

export interface PostgresOptions {
  /** Pool size; default 10. */
  max?: number;
  /** How long to wait for a connection, ms; default 10 000. */
  connectTimeoutMs?: number;
}

/** Opens a pool and checks that the server answers, so a bad URL fails here and not on first use. */
export async function openPostgres(url: string, opts: PostgresOptions = {}): Promise<Db> {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 10,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
  });
  // An idle client that loses its connection emits 'error' on the pool; unhandled it would end the
  // process. The pool drops that client and opens a new one for the next query; while the server
  // stays unreachable, that query fails with `unavailable` (sql-errors.ts), and once it answers
  // again the pool serves as before, with nothing to restart.
  pool.on("error", () => {});
  try {
    await pool.query("SELECT 1");
  } catch (err) {
    await pool.end().catch(() => {});
    throw new TokenForgeError(
      "io_error",
      `cannot reach PostgreSQL at ${describeUrl(url)} (DATABASE_URL): ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  const wrap = (q: pg.Pool | pg.PoolClient): Queryable => ({
    async query<T>(sql: string, params: readonly unknown[] = []) {
      const r = await q.query(sql, [...params]);
      return { rows: r.rows as T[] };
    },
    async exec(sql: string) {
      // Without parameters node-postgres uses the simple protocol, which runs a whole script.
      await q.query(sql);
    },
  });
  return {
    kind: "postgres",
    ...wrap(pool),
    async transaction(fn) {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query("BEGIN");
        const result = await fn(wrap(client));
        await client.query("COMMIT");
        return result;
      } catch (err) {
        try {
          await client.query("ROLLBACK");
        } catch (rollbackErr) {
          // A connection that cannot roll back is not reused.
          broken = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
        }
        throw err;
      } finally {
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}

/** host:port/database, never the password. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || "5432"}${u.pathname}`;
  } catch {
    return "an unparseable URL";
  }
}
