/**
 * Chooses the database: PostgreSQL when a URL is given (DATABASE_URL), else embedded PGlite in
 * the data directory (TOKENFORGE_DATA_DIR, `--data-dir`). The store comes back migrated.
 */
import type { Store } from "../../spec/store.js";
import { openPglite } from "./pglite.js";
import { openPostgres } from "./postgres.js";
import { SqlStore } from "./sql-store.js";

export interface StoreOptions {
  /** PostgreSQL connection URL; when set, the data directory is not used. */
  databaseUrl?: string | undefined;
  /** PGlite data directory (created when missing), or `memory://` for a store that lives in memory. */
  dataDir: string;
  /** Apply pending migrations before returning; default true. */
  migrate?: boolean;
}

export async function openStore(opts: StoreOptions): Promise<Store> {
  const db =
    opts.databaseUrl !== undefined && opts.databaseUrl !== ""
      ? await openPostgres(opts.databaseUrl)
      : await openPglite(opts.dataDir);
  const store = new SqlStore(db);
  if (opts.migrate ?? true) {
    try {
      await store.migrate();
    } catch (err) {
      await store.close().catch(() => {});
      throw err;
    }
  }
  return store;
}
