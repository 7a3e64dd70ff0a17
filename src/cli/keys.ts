/**
 * `tokenforge keys create|list|revoke`: API keys of the gateway (docs/security.md).
 *
 * Two ways in. Without `--server` the command opens the store the gateway uses (DATABASE_URL, or
 * the PGlite directory of `--data-dir` / TOKENFORGE_DATA_DIR): this is how the first admin key is
 * made before `serve`. A PGlite directory is one process's at a time, so while a gateway holds it
 * the command is refused, naming the gateway's pid and the way round it. With `--server URL` it
 * calls that gateway's /keys routes with an admin key (`--api-key` or TOKENFORGE_API_KEY).
 *
 * `create` prints the secret alone on stdout (so `KEY=$(tokenforge keys create …)` captures it)
 * and what it is on stderr: the secret is shown this once; the store keeps only its SHA-256.
 */
import type { Command } from "commander";
import type { TokenForgeEnv } from "../config.js";
import { isTokenForgeError, TokenForgeError } from "../errors.js";
import {
  type ApiKeyView,
  checkKeyRequest,
  createApiKey,
  keyView,
  revokeApiKey,
} from "../gateway/api-keys.js";
import type { Store } from "../spec/store.js";
import { lockDataDir } from "../store/db/data-dir-lock.js";
import { openStore } from "../store/db/open.js";
import { isMemoryDir } from "../store/db/pglite.js";
import { gatewayConn, gatewayRequest } from "./remote.js";

interface Where {
  server?: string;
  gateway?: string;
  apiKey?: string;
  dataDir?: string;
  json?: boolean;
}

/** Runs `fn` on the gateway's store, or on the gateway itself when a URL is given. */
type Target =
  | { kind: "gateway"; call: <T>(m: "GET" | "POST" | "DELETE", path: string, body?: unknown) => Promise<T> }
  | {
      kind: "store";
      store: Store;
    };

export function registerKeysCommand(program: Command, env: TokenForgeEnv): void {
  const keys = program
    .command("keys")
    .description("API keys of the gateway: create (shown once), list, revoke (docs/security.md)");
  const where = (c: Command) =>
    c
      .option(
        "--server <url>",
        "manage the keys of a running gateway (needs an admin key) instead of its store",
      )
      .option("--gateway <url>", "the same as --server")
      .option("--api-key <key>", "admin key for --server (default $TOKENFORGE_API_KEY)")
      .option(
        "--data-dir <dir>",
        "PGlite data directory when DATABASE_URL is not set (default $TOKENFORGE_DATA_DIR)",
      )
      .option("--json", "print JSON", false);

  where(
    keys
      .command("create")
      .description("create a key; its secret is printed once, on stdout")
      .requiredOption("--name <name>", "what the key is for (who holds it)")
      .requiredOption("--role <role>", "admin (deploy, delete, attach to URLs, manage keys) or user"),
  ).action(async (f: Where & { name: string; role: "admin" | "user" }) => {
    // Checked before anything is opened: a bad role is exit 2 and touches no store.
    checkKeyRequest(f.name, f.role);
    const made = await withTarget(f, env, async (t) => {
      if (t.kind === "gateway")
        return t.call<ApiKeyView & { key: string }>("POST", "/keys", { name: f.name, role: f.role });
      const { key, secret } = await createApiKey(t.store, f.name, f.role);
      return { ...key, key: secret };
    });
    if (f.json) {
      process.stdout.write(`${JSON.stringify(made, null, 2)}\n`);
      return;
    }
    process.stderr.write(
      `created ${made.role} key ${made.id} (${made.name}); the key below is shown only now, keep it secret:\n`,
    );
    process.stdout.write(`${made.key}\n`);
  });

  where(keys.command("list").description("every key, revoked ones included (never a secret)")).action(
    async (f: Where) => {
      const list = await withTarget(f, env, async (t) =>
        t.kind === "gateway"
          ? t.call<ApiKeyView[]>("GET", "/keys")
          : (await t.store.listApiKeys()).map(keyView),
      );
      if (f.json) {
        process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
        return;
      }
      const rows = [["id", "name", "role", "created", "last used", "revoked"]];
      for (const k of list)
        rows.push([k.id, k.name, k.role, k.created_at, k.last_used_at ?? "-", k.revoked_at ?? "-"]);
      process.stdout.write(`${table(rows)}\n`);
    },
  );

  where(
    keys.command("revoke").description("revoke a key: refused from now on, its record kept").argument("<id>"),
  ).action(async (id: string, f: Where) => {
    const k = await withTarget(f, env, async (t) =>
      t.kind === "gateway"
        ? t.call<ApiKeyView>("DELETE", `/keys/${encodeURIComponent(id)}`)
        : revokeApiKey(t.store, id),
    );
    if (f.json) process.stdout.write(`${JSON.stringify(k, null, 2)}\n`);
    else process.stdout.write(`${k.id} (${k.name}) revoked at ${k.revoked_at}\n`);
  });
}

async function withTarget<T>(f: Where, env: TokenForgeEnv, fn: (t: Target) => Promise<T>): Promise<T> {
  const url = f.server ?? f.gateway;
  if (url !== undefined) {
    const conn = gatewayConn({ server: url, apiKey: f.apiKey }, env);
    return fn({ kind: "gateway", call: (m, path, body) => gatewayRequest(conn, m, path, body) });
  }
  if (f.apiKey !== undefined) {
    throw new TokenForgeError("invalid_request", "--api-key is for --server: on the store no key is needed", {
      field: "api-key",
    });
  }
  const dataDir = f.dataDir ?? env.dataDir;
  const lock = env.databaseUrl || isMemoryDir(dataDir) ? undefined : lockOrExplain(dataDir);
  try {
    const store = await openStore({ ...(env.databaseUrl ? { databaseUrl: env.databaseUrl } : {}), dataDir });
    try {
      return await fn({ kind: "store", store });
    } finally {
      await store.close();
    }
  } finally {
    lock?.release();
  }
}

/** The data directory's lock; while a gateway holds it, a refusal that says how to go through the gateway. */
function lockOrExplain(dataDir: string) {
  try {
    return lockDataDir(dataDir);
  } catch (err) {
    if (!isTokenForgeError(err) || err.code !== "conflict") throw err;
    throw new TokenForgeError(
      "conflict",
      `${err.message}. A running gateway holds its PGlite store: manage keys through it instead, ` +
        "with --server http://HOST:PORT and an admin key (TOKENFORGE_API_KEY or --api-key), or stop the gateway first",
      { field: "data-dir" },
    );
  }
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) => cell.padEnd(widths[c]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}
