/** The headers an attached target's API key travels in; the key itself never enters a result. */
import { TokenForgeError } from "../errors.js";

/**
 * The headers carrying the API key held by environment variable `envName`: `{authorization:
 * "Bearer <key>"}`, or `{}` when no variable is named. A variable that is named but unset or
 * empty is an error naming it (a silent unauthenticated run would only fail later, less clearly).
 */
export function apiKeyHeaders(
  envName: string | undefined,
  lookup: (name: string) => string | undefined,
  field = "api_key_env",
): Record<string, string> {
  if (envName === undefined) return {};
  const key = lookup(envName)?.trim();
  if (!key) {
    throw new TokenForgeError(
      "invalid_request",
      `environment variable ${envName} (the API key named by ${field}) is not set`,
      { field },
    );
  }
  return { authorization: `Bearer ${key}` };
}
