/**
 * API keys: making one (a high-entropy secret shown once, of which the store keeps only the
 * SHA-256), and the gateway's key ring, which answers "whose key is this?" from memory.
 *
 * The ring holds every stored key (a handful of rows) and reloads them in the background every
 * few seconds, so checking a key costs a hash and a map lookup, never a database round trip, and a
 * database outage does not lock out callers whose keys were known before it. A key created or
 * revoked through this gateway takes effect at once (the routes reload the ring); one revoked by
 * another process on the same PostgreSQL database, within one reload interval.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import { TokenForgeError } from "../errors.js";
import type { ApiKeyRole, ApiKeyRow, Store } from "../spec/store.js";
import { MAX_KEY_NAME } from "../store/db/api-keys.js";

/** Every secret starts so: a scanner (or a person) can tell a TokenForge key when one leaks. */
export const KEY_PREFIX = "tf_";

/** The id under which the key from TOKENFORGE_ADMIN_KEY acts (and owns the runs it starts). */
export const ENV_ADMIN_KEY_ID = "env-admin";

/** Shortest TOKENFORGE_ADMIN_KEY accepted: anything shorter could be guessed. */
export const MIN_ENV_KEY_LENGTH = 32;

/** What a request's key says about its caller. */
export interface KeyIdentity {
  keyId: string;
  name: string;
  role: ApiKeyRole;
}

/** A key as the API and the CLI show it: never its hash or secret. */
export interface ApiKeyView {
  id: string;
  name: string;
  role: ApiKeyRole;
  created_at: string;
  revoked_at?: string;
  last_used_at?: string;
}

export function sha256Hex(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

/** A fresh secret: the prefix and 32 random bytes in base64url (43 characters). */
export function newSecret(): string {
  return `${KEY_PREFIX}${randomBytes(32).toString("base64url")}`;
}

export function keyView(row: ApiKeyRow): ApiKeyView {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    created_at: row.createdAt,
    ...(row.revokedAt === undefined ? {} : { revoked_at: row.revokedAt }),
    ...(row.lastUsedAt === undefined ? {} : { last_used_at: row.lastUsedAt }),
  };
}

/** Checks a key's name and role as a caller gave them; every problem names its field. */
export function checkKeyRequest(name: unknown, role: unknown): { name: string; role: ApiKeyRole } {
  if (typeof name !== "string" || name.trim() === "" || name.length > MAX_KEY_NAME) {
    throw new TokenForgeError(
      "invalid_request",
      `name: a key needs a name of 1 to ${MAX_KEY_NAME} characters`,
      {
        field: "name",
      },
    );
  }
  if (role !== "admin" && role !== "user") {
    throw new TokenForgeError("invalid_request", `role: must be admin or user, got ${JSON.stringify(role)}`, {
      field: "role",
    });
  }
  return { name: name.trim(), role };
}

/** Stores a new key and returns it with its secret: the only time the secret exists outside the caller. */
export async function createApiKey(
  store: Store,
  name: unknown,
  role: unknown,
): Promise<{ key: ApiKeyView; secret: string }> {
  const checked = checkKeyRequest(name, role);
  const secret = newSecret();
  const row: ApiKeyRow = {
    id: `key-${randomUUID().replace(/-/g, "").slice(0, 12)}`,
    name: checked.name,
    role: checked.role,
    hash: sha256Hex(secret),
    createdAt: new Date().toISOString(),
  };
  await store.createApiKey(row);
  return { key: keyView(row), secret };
}

/** Revokes a key; a key that does not exist is a 404 naming it. */
export async function revokeApiKey(store: Store, id: string): Promise<ApiKeyView> {
  const row = await store.revokeApiKey(id, new Date().toISOString());
  if (!row) throw new TokenForgeError("not_found", `no API key ${id}`, { field: "id" });
  return keyView(row);
}

/** Refuses a TOKENFORGE_ADMIN_KEY too short to be safe (exit 2 at start). */
export function checkEnvAdminKey(secret: string): void {
  if (secret.length < MIN_ENV_KEY_LENGTH || /\s/.test(secret)) {
    throw new TokenForgeError(
      "invalid_request",
      `TOKENFORGE_ADMIN_KEY must be at least ${MIN_ENV_KEY_LENGTH} characters without spaces (e.g. from \`openssl rand -base64 32\`)`,
      { field: "TOKENFORGE_ADMIN_KEY" },
    );
  }
}

export interface KeyRingOptions {
  /** An admin key given by the environment (TOKENFORGE_ADMIN_KEY), not stored. */
  envAdminKey?: string | undefined;
  /** How old the loaded keys may be before a request triggers a reload (default 5 s). */
  reloadMs?: number;
  /** How often use times are written back (default 30 s). */
  touchMs?: number;
}

/** Why a presented key was not accepted. */
export type KeyRefusal = "unknown_key" | "revoked_key";

export class KeyRing {
  private byHash = new Map<string, ApiKeyRow>();
  private envHash: Buffer | undefined;
  private loadedAt = -Infinity;
  private loading: Promise<void> | undefined;
  private readonly used = new Set<string>();
  private readonly touchTimer: NodeJS.Timeout;
  private readonly reloadMs: number;

  constructor(
    private readonly store: Store,
    options: KeyRingOptions = {},
  ) {
    if (options.envAdminKey !== undefined) {
      checkEnvAdminKey(options.envAdminKey);
      this.envHash = Buffer.from(sha256Hex(options.envAdminKey), "hex");
    }
    this.reloadMs = options.reloadMs ?? 5000;
    this.touchTimer = setInterval(() => void this.flushUse(), options.touchMs ?? 30_000);
    this.touchTimer.unref();
  }

  /**
   * Reads every key from the store; a failure keeps the keys known before. A reload already under
   * way may have read the table before the caller's change, so this one runs after it, afresh.
   */
  reload(): Promise<void> {
    const read = async () => {
      const rows = await this.store.listApiKeys();
      this.byHash = new Map(rows.map((r) => [r.hash, r]));
      this.loadedAt = performance.now();
    };
    const next = (this.loading ?? Promise.resolve()).catch(() => {}).then(read);
    this.loading = next;
    const clear = () => {
      if (this.loading === next) this.loading = undefined;
    };
    next.then(clear, clear);
    return next;
  }

  /** True when no key exists at all (stored, revoked or from the environment): the gateway may serve open. */
  get empty(): boolean {
    return this.byHash.size === 0 && this.envHash === undefined;
  }

  /** How many keys can be used now (not revoked), the environment's included. */
  get activeCount(): number {
    let n = this.envHash === undefined ? 0 : 1;
    for (const r of this.byHash.values()) if (r.revokedAt === undefined) n++;
    return n;
  }

  /** Whose key `secret` is, or why it is refused. */
  identify(secret: string): KeyIdentity | KeyRefusal {
    if (this.loading === undefined && performance.now() - this.loadedAt > this.reloadMs)
      void this.reload().catch(() => {});
    const hash = Buffer.from(sha256Hex(secret), "hex");
    if (this.envHash !== undefined && timingSafeEqual(hash, this.envHash)) {
      return { keyId: ENV_ADMIN_KEY_ID, name: "TOKENFORGE_ADMIN_KEY", role: "admin" };
    }
    const row = this.byHash.get(hash.toString("hex"));
    // The map finds the row by its hash; the comparison that decides is the constant-time one.
    if (!row || !timingSafeEqual(hash, Buffer.from(row.hash, "hex"))) return "unknown_key";
    if (row.revokedAt !== undefined) return "revoked_key";
    this.used.add(row.id);
    return { keyId: row.id, name: row.name, role: row.role };
  }

  /** Writes the use times gathered since the last flush (best effort: an outage skips one). */
  async flushUse(): Promise<void> {
    if (this.used.size === 0) return;
    const ids = [...this.used];
    this.used.clear();
    await this.store.touchApiKeys(ids, new Date().toISOString()).catch(() => {});
  }

  async close(): Promise<void> {
    clearInterval(this.touchTimer);
    await this.loading?.catch(() => {});
    await this.flushUse();
  }
}
