/** Waiting for a state in tests: poll until it holds or a deadline passes, never a fixed sleep. */

export interface WaitForOptions {
  /** What is awaited, for the error: "deployment x to be ready". */
  what: string;
  /** Default 10 s. */
  timeoutMs?: number;
  /** Pause between checks; default 20 ms. */
  intervalMs?: number;
  /** The state seen last (e.g. a status as JSON), added to the error. */
  detail?: () => string;
}

/**
 * Calls `check` until it returns something other than false, undefined or null, and returns that.
 * Throws "timed out after N ms waiting for <what>" once `timeoutMs` has passed; an error thrown by
 * `check` ends the wait at once.
 */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  options: WaitForOptions,
): Promise<Exclude<T, false | undefined | null>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== false && value !== undefined && value !== null) {
      return value as Exclude<T, false | undefined | null>;
    }
    if (performance.now() > deadline) {
      const detail = options.detail?.();
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${options.what}${detail ? `; last seen: ${detail}` : ""}`,
      );
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 20));
  }
}
