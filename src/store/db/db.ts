/**
 * The tiny query interface the SQL store runs on, so one SqlStore serves both backends: PGlite
 * (embedded, `pglite.ts`) and PostgreSQL (`postgres.ts`). Drivers' own errors pass through
 * unchanged (they carry the SQLSTATE in `code`); the store turns them into coded errors.
 */

/** Runs statements; `query` takes one statement with `$n` parameters, `exec` a script without any. */
export interface Queryable {
  query<T>(sql: string, params?: readonly unknown[]): Promise<{ rows: T[] }>;
  exec(sql: string): Promise<void>;
}

/** A connection (PGlite) or a pool (PostgreSQL). */
export interface Db extends Queryable {
  readonly kind: "pglite" | "postgres";
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
