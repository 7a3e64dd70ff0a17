/**
 * API keys and run owners in the store, on both backends: embedded PGlite and the real PostgreSQL
 * (TOKENFORGE_TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test, in a schema of
 * its own dropped afterwards; skipped with the reason where it cannot be reached, except in CI).
 */
import pg from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isTokenForgeError } from "../../src/errors.js";
import { createApiKey, KeyRing, revokeApiKey, sha256Hex } from "../../src/gateway/api-keys.js";
import type { RunRow } from "../../src/spec/store.js";
import type { Db } from "../../src/store/db/db.js";
import { openPglite } from "../../src/store/db/pglite.js";
import { describeUrl, openPostgres } from "../../src/store/db/postgres.js";
import { SqlStore } from "../../src/store/db/sql-store.js";

const PG_URL = process.env.TOKENFORGE_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

async function unreachable(url: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    return undefined;
  } catch (err) {
    return (err as Error).message || String(err);
  } finally {
    await client.end().catch(() => {});
  }
}

const pgProblem = await unreachable(PG_URL);
const skipPostgres = pgProblem !== undefined && !process.env.CI;
if (skipPostgres) console.warn(`skipping PostgreSQL: ${describeUrl(PG_URL)} unreachable (${pgProblem})`);

const backends = [
  {
    name: "PGlite",
    skip: false,
    open: async (): Promise<{ db: Db; cleanup: () => Promise<void> }> => ({
      db: await openPglite("memory://"),
      cleanup: async () => {},
    }),
  },
  {
    name: "PostgreSQL",
    skip: skipPostgres,
    open: async (): Promise<{ db: Db; cleanup: () => Promise<void> }> => {
      const schema = `tf_keys_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
      const admin = new pg.Client({ connectionString: PG_URL });
      await admin.connect();
      await admin.query(`CREATE SCHEMA ${schema}`);
      const u = new URL(PG_URL);
      u.searchParams.set("options", `-c search_path=${schema}`);
      const db = await openPostgres(u.toString(), { max: 2 });
      return {
        db,
        cleanup: async () => {
          try {
            await admin.query(`DROP SCHEMA ${schema} CASCADE`);
          } finally {
            await admin.end();
          }
        },
      };
    },
  },
];

function run(id: string, owner?: string): RunRow {
  return {
    id,
    status: "complete",
    model: "m",
    runtimes: ["sim"],
    config: {},
    seed: 1,
    environment: {},
    createdAt: new Date().toISOString(),
    ...(owner === undefined ? {} : { owner }),
  };
}

for (const b of backends) {
  describe.skipIf(b.skip)(`API keys on ${b.name}`, () => {
    let store: SqlStore;
    let db: Db;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ db, cleanup } = await b.open());
      store = new SqlStore(db);
      await store.migrate();
    });
    afterEach(async () => {
      await store.close();
      await cleanup();
    });

    it("keeps the SHA-256 of a key, never the secret", async () => {
      const { key, secret } = await createApiKey(store, "ci", "user");
      const rows = await db.query<Record<string, unknown>>("SELECT * FROM api_keys");
      expect(rows.rows).toHaveLength(1);
      expect(JSON.stringify(rows.rows)).not.toContain(secret);
      expect(rows.rows[0]!.hash).toBe(sha256Hex(secret));
      const [listed] = await store.listApiKeys();
      expect(listed).toMatchObject({ id: key.id, name: "ci", role: "user", hash: sha256Hex(secret) });
      expect(listed!.revokedAt).toBeUndefined();
    });

    it("revokes once (the first time stays) and says when a key does not exist", async () => {
      const { key } = await createApiKey(store, "a", "admin");
      const first = await revokeApiKey(store, key.id);
      expect(first.revoked_at).toBeDefined();
      const again = await store.revokeApiKey(key.id, new Date(Date.now() + 60_000).toISOString());
      expect(again?.revokedAt).toBe(first.revoked_at);
      const missing = await revokeApiKey(store, "key-none").catch((e: unknown) => e);
      expect(isTokenForgeError(missing) && missing.code).toBe("not_found");
    });

    it("records use times, only ever forward", async () => {
      const { key } = await createApiKey(store, "a", "user");
      const later = "2030-01-02T03:04:05.000Z";
      await store.touchApiKeys([key.id], later);
      await store.touchApiKeys([key.id], "2029-01-01T00:00:00.000Z");
      expect((await store.listApiKeys())[0]!.lastUsedAt).toBe(later);
      await store.touchApiKeys([], later);
    });

    it("refuses a bad role, an oversized name, a malformed hash, and a duplicate id, changing nothing", async () => {
      const base = {
        id: "k1",
        name: "n",
        role: "user" as const,
        hash: "a".repeat(64),
        createdAt: new Date().toISOString(),
      };
      await store.createApiKey(base);
      const attempts = [
        { ...base, id: "k2", role: "root" as never },
        { ...base, id: "k3", name: "x".repeat(201) },
        { ...base, id: "k4", hash: "not-hex" },
        { ...base, hash: "b".repeat(64) },
        { ...base, id: "k5" },
      ];
      const codes = [];
      for (const a of attempts) {
        const err = await store.createApiKey(a).catch((e: unknown) => e);
        codes.push(isTokenForgeError(err) ? `${err.code}:${err.field ?? ""}` : String(err));
      }
      expect(codes).toEqual([
        "invalid_request:role",
        "invalid_request:name",
        "invalid_request:hash",
        "conflict:",
        "conflict:",
      ]);
      expect((await store.listApiKeys()).map((k) => k.id)).toEqual(["k1"]);
    });

    it("records a run's owner and lists runs by owner", async () => {
      await store.createRun(run("r1", "key-a"));
      await store.createRun(run("r2", "key-b"));
      await store.createRun(run("r3"));
      expect((await store.getRun("r1"))?.owner).toBe("key-a");
      expect((await store.getRun("r3"))?.owner).toBeUndefined();
      expect((await store.listRuns({ owner: "key-b" })).map((r) => r.id)).toEqual(["r2"]);
      expect((await store.listRuns()).length).toBe(3);
    });

    it("feeds the key ring: known, revoked and unknown keys told apart", async () => {
      const { secret } = await createApiKey(store, "a", "admin");
      const gone = await createApiKey(store, "b", "user");
      await revokeApiKey(store, gone.key.id);
      const ring = new KeyRing(store, { reloadMs: 60_000 });
      await ring.reload();
      expect(ring.empty).toBe(false);
      expect(ring.activeCount).toBe(1);
      expect(ring.identify(secret)).toMatchObject({ name: "a", role: "admin" });
      expect(ring.identify(gone.secret)).toBe("revoked_key");
      expect(ring.identify(`${secret}x`)).toBe("unknown_key");
      await ring.close();
    });
  });
}
