/**
 * Driver errors → coded errors. PGlite and node-postgres both put the SQLSTATE in `code`, so one
 * mapping serves both: a unique key taken → conflict; a missing parent row → not_found; a value the
 * schema refuses or one too large to index → invalid_request; a connection lost, refused or timed out, or a server shutting
 * down or full → unavailable (503 with Retry-After: the same call may work once the database is
 * back, and the pool reconnects by itself); anything else (a bug) → io_error.
 */
import { isTokenForgeError, TokenForgeError } from "../../errors.js";

export interface ErrorContext {
  /** What was being done, e.g. `creating run "r1"`. */
  what: string;
  /** The message when a unique key is taken. */
  conflict?: string;
  /** The message (and field) when a referenced row does not exist. */
  missing?: { message: string; field: string };
}

interface DriverError {
  code?: unknown;
  message?: unknown;
  column?: unknown;
  constraint?: unknown;
  errors?: unknown;
}

/** Socket errors of a connection that was refused, reset, dropped or never answered. */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "EAI_AGAIN",
  "ENOTFOUND",
]);

/**
 * SQLSTATEs of a server that cannot serve now: 57P01 admin_shutdown, 57P02 crash_shutdown,
 * 57P03 cannot_connect_now (starting up, shutting down), 53300 too_many_connections. Class 08
 * (connection exception) is matched by its prefix.
 */
const UNAVAILABLE_SQLSTATES = new Set(["57P01", "57P02", "57P03", "53300"]);

/**
 * node-postgres's own errors for a lost connection carry no code: a socket that closed under a
 * query ("Connection terminated unexpectedly"), a connect that timed out (the client's "Connection
 * terminated due to connection timeout", the pool's "timeout exceeded when trying to connect"),
 * and a client already broken by one of those.
 */
const CONNECTION_MESSAGES =
  /^Connection terminated|timeout exceeded when trying to connect|encountered a connection error and is not queryable/i;

/**
 * True when the error says the database could not be reached or the connection was lost, as
 * opposed to a statement the database refused. An AggregateError (a connect that tried several
 * addresses) counts when every attempt failed that way.
 */
export function isConnectionError(err: unknown): boolean {
  if (typeof err !== "object" || err === null) return false;
  const e = err as DriverError;
  const code = typeof e.code === "string" ? e.code : "";
  if (NETWORK_CODES.has(code) || UNAVAILABLE_SQLSTATES.has(code) || /^08[0-9A-Z]{3}$/.test(code)) return true;
  if (typeof e.message === "string" && CONNECTION_MESSAGES.test(e.message)) return true;
  if (Array.isArray(e.errors) && e.errors.length > 0) return e.errors.every(isConnectionError);
  return false;
}

function describe(err: unknown, e: DriverError): string {
  if (typeof e.message === "string" && e.message !== "") return e.message;
  if (typeof e.code === "string") return e.code;
  return String(err);
}

export function toStoreError(err: unknown, ctx: ErrorContext): TokenForgeError {
  if (isTokenForgeError(err)) return err;
  const e = (typeof err === "object" && err !== null ? err : {}) as DriverError;
  const code = typeof e.code === "string" ? e.code : "";
  const detail = describe(err, e);
  if (code === "23505") {
    return new TokenForgeError("conflict", ctx.conflict ?? `${ctx.what}: ${detail}`, { cause: err });
  }
  if (code === "23503") {
    const missing = ctx.missing;
    return missing
      ? new TokenForgeError("not_found", missing.message, { field: missing.field, cause: err })
      : new TokenForgeError("not_found", `${ctx.what}: ${detail}`, { cause: err });
  }
  // Class 22 (data exception), 23 (integrity constraint violation) and 54000 (a value past a
  // program limit, e.g. "index row size exceeds maximum" for a very long indexed string): the
  // value is at fault.
  if (code.startsWith("22") || code.startsWith("23") || code === "54000") {
    const field = typeof e.column === "string" ? e.column : undefined;
    return new TokenForgeError("invalid_request", `${ctx.what}: ${detail}`, {
      cause: err,
      ...(field === undefined ? {} : { field }),
    });
  }
  if (isConnectionError(err)) {
    return new TokenForgeError(
      "unavailable",
      `${ctx.what} failed: the database is unavailable (${detail}); retry later`,
      { cause: err },
    );
  }
  return new TokenForgeError("io_error", `${ctx.what} failed: ${detail}`, { cause: err });
}
