/**
 * The `api_keys` table: what the SQL store keeps of each API key (id, name, role, the SHA-256 of
 * its secret, when it was created, revoked and last used). The secret itself never reaches the
 * database. Statements only; `SqlStore` runs them through its error mapping.
 */
import { TokenForgeError } from "../../errors.js";
import type { ApiKeyRole, ApiKeyRow } from "../../spec/store.js";
import type { Queryable } from "./db.js";
import { presentFields } from "./rows.js";
import { isoTime, oneOf, readOptionalTime, readTime } from "./values.js";

export const API_KEY_ROLES = ["admin", "user"] as const satisfies readonly ApiKeyRole[];

/** Longest key name stored (the schema's CHECK says the same). */
export const MAX_KEY_NAME = 200;
/** Longest key id stored. */
export const MAX_KEY_ID = 64;

interface ApiKeyRecord {
  id: string;
  name: string;
  role: ApiKeyRole;
  hash: string;
  created_at: unknown;
  revoked_at: unknown;
  last_used_at: unknown;
}

const COLUMNS = "id, name, role, hash, created_at, revoked_at, last_used_at";

function bounded(value: unknown, field: string, max: number): string {
  if (typeof value === "string" && value.length >= 1 && value.length <= max) return value;
  throw new TokenForgeError(
    "invalid_request",
    `${field}: must be a string of 1 to ${max} characters, got ${typeof value === "string" ? `${value.length} characters` : JSON.stringify(value)}`,
    { field },
  );
}

function hashOf(value: unknown): string {
  if (typeof value === "string" && /^[0-9a-f]{64}$/.test(value)) return value;
  throw new TokenForgeError("invalid_request", "hash: must be a SHA-256 in 64 lowercase hex digits", {
    field: "hash",
  });
}

export async function insertApiKey(db: Queryable, row: ApiKeyRow): Promise<void> {
  const params = [
    bounded(row.id, "id", MAX_KEY_ID),
    bounded(row.name, "name", MAX_KEY_NAME),
    oneOf(row.role, API_KEY_ROLES, "role"),
    hashOf(row.hash),
    isoTime(row.createdAt, "createdAt"),
  ];
  await db.query(
    `INSERT INTO api_keys (id, name, role, hash, created_at)
     VALUES ($1, $2, $3, $4, $5::text::timestamptz)`,
    params,
  );
}

export async function selectApiKeys(db: Queryable): Promise<ApiKeyRow[]> {
  const { rows } = await db.query<ApiKeyRecord>(`SELECT ${COLUMNS} FROM api_keys ORDER BY created_at, id`);
  return rows.map(toApiKey);
}

export async function revokeApiKey(db: Queryable, id: string, at: string): Promise<ApiKeyRow | undefined> {
  const { rows } = await db.query<ApiKeyRecord>(
    `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2::text::timestamptz) WHERE id = $1
     RETURNING ${COLUMNS}`,
    [id, isoTime(at, "revokedAt")],
  );
  return rows[0] && toApiKey(rows[0]);
}

export async function touchApiKeys(db: Queryable, ids: readonly string[], at: string): Promise<void> {
  if (ids.length === 0) return;
  await db.query(
    `UPDATE api_keys SET last_used_at = $2::text::timestamptz
     WHERE id = ANY($1::text[]) AND (last_used_at IS NULL OR last_used_at < $2::text::timestamptz)`,
    [[...ids], isoTime(at, "lastUsedAt")],
  );
}

function toApiKey(r: ApiKeyRecord): ApiKeyRow {
  return {
    id: r.id,
    name: r.name,
    role: r.role,
    hash: r.hash,
    createdAt: readTime(r.created_at),
    ...presentFields({
      revokedAt: readOptionalTime(r.revoked_at),
      lastUsedAt: readOptionalTime(r.last_used_at),
    }),
  };
}
