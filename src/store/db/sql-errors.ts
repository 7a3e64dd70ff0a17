/**
 * Driver errors → coded errors. PGlite and node-postgres both put the SQLSTATE in `code`, so one
 * mapping serves both: a unique key taken → conflict; a missing parent row → not_found; a value the
 * schema refuses → invalid_request; anything else (a lost connection, a bug) → io_error.
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
}

export function toStoreError(err: unknown, ctx: ErrorContext): TokenForgeError {
  if (isTokenForgeError(err)) return err;
  const e = (typeof err === "object" && err !== null ? err : {}) as DriverError;
  const code = typeof e.code === "string" ? e.code : "";
  const detail = typeof e.message === "string" ? e.message : String(err);
  if (code === "23505") {
    return new TokenForgeError("conflict", ctx.conflict ?? `${ctx.what}: ${detail}`, { cause: err });
  }
  if (code === "23503") {
    const missing = ctx.missing;
    return missing
      ? new TokenForgeError("not_found", missing.message, { field: missing.field, cause: err })
      : new TokenForgeError("not_found", `${ctx.what}: ${detail}`, { cause: err });
  }
  // Class 22 (data exception) and 23 (integrity constraint violation): the value is at fault.
  if (code.startsWith("22") || code.startsWith("23")) {
    const field = typeof e.column === "string" ? e.column : undefined;
    return new TokenForgeError("invalid_request", `${ctx.what}: ${detail}`, {
      cause: err,
      ...(field === undefined ? {} : { field }),
    });
  }
  return new TokenForgeError("io_error", `${ctx.what} failed: ${detail}`, { cause: err });
}
