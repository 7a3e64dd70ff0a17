/**
 * The coded error catalogue. Every error a user or a network peer can cause is a TokenForgeError
 * with a stable code, the field it concerns (when there is one) and the HTTP status that fits.
 */

export const ERROR_CODES = {
  invalid_request: 400,
  invalid_model_ref: 400,
  context_length_exceeded: 400,
  /** No API key, or one the gateway does not know or has revoked. */
  unauthorized: 401,
  /** A valid key whose role may not do this, or a run that is not the caller's. */
  forbidden: 403,
  model_not_found: 404,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  /** The `Host` header names no address this gateway answers for (DNS rebinding). */
  misdirected_request: 421,
  over_capacity: 429,
  not_ready: 503,
  /** A service TokenForge depends on (the database) cannot be reached now; retrying later may work. */
  unavailable: 503,
  engine_error: 500,
  io_error: 500,
  bad_gateway: 502,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** An error with a code from the catalogue, optionally naming the offending field. */
export class TokenForgeError extends Error {
  readonly code: ErrorCode;
  readonly field: string | undefined;
  readonly status: number;

  constructor(code: ErrorCode, message: string, options: { field?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "TokenForgeError";
    this.code = code;
    this.field = options.field;
    this.status = ERROR_CODES[code];
  }
}

export function isTokenForgeError(err: unknown): err is TokenForgeError {
  return err instanceof TokenForgeError;
}
