/**
 * Checks and encodings of the values the store writes, and decodings of what the drivers return.
 * Drivers differ in what they hand back (node-postgres gives bigint as a string, PGlite as a
 * number; both give timestamptz as a Date), so every value read goes through one function here.
 */
import { TokenForgeError } from "../../errors.js";
import type { DeploymentState } from "../../spec/deployment.js";
import type { RunStatus } from "../../spec/store.js";

export const RUN_STATUSES = [
  "queued",
  "running",
  "complete",
  "incomplete",
  "failed",
  "cancelled",
  "interrupted",
] as const satisfies readonly RunStatus[];

export const DEPLOYMENT_STATES = [
  "pending",
  "starting",
  "ready",
  "failed",
  "stopped",
] as const satisfies readonly DeploymentState[];

// Both lists name every member of their union (and the migrations' CHECK constraints match them).
const everyStatus: [Exclude<RunStatus, (typeof RUN_STATUSES)[number]>] extends [never] ? true : false = true;
const everyState: [Exclude<DeploymentState, (typeof DEPLOYMENT_STATES)[number]>] extends [never]
  ? true
  : false = true;
void everyStatus;
void everyState;

function invalid(field: string, message: string): TokenForgeError {
  return new TokenForgeError("invalid_request", `${field}: ${message}`, { field });
}

export function oneOf<T extends string>(value: unknown, allowed: readonly T[], field: string): T {
  if (typeof value === "string" && (allowed as readonly string[]).includes(value)) return value as T;
  throw invalid(field, `must be one of ${allowed.join(", ")}, got ${JSON.stringify(value)}`);
}

export function text(value: unknown, field: string): string {
  if (typeof value === "string" && value !== "") return value;
  throw invalid(field, `must be a non-empty string, got ${JSON.stringify(value)}`);
}

export function optionalText(value: unknown, field: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === "string") return value;
  throw invalid(field, `must be a string, got ${JSON.stringify(value)}`);
}

/** A whole number JSON and bigint both hold exactly. */
export function safeInteger(value: unknown, field: string, min = Number.MIN_SAFE_INTEGER): number {
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= min) return value;
  throw invalid(field, `must be an integer${min === 0 ? " ≥ 0" : ""}, got ${String(value)}`);
}

export function bool(value: unknown, field: string): boolean {
  if (typeof value === "boolean") return value;
  throw invalid(field, `must be true or false, got ${JSON.stringify(value)}`);
}

/** An ISO 8601 time, normalized to UTC with milliseconds (what the store gives back). */
export function isoTime(value: unknown, field: string): string {
  if (typeof value === "string") {
    const t = Date.parse(value);
    if (!Number.isNaN(t)) return new Date(t).toISOString();
  }
  throw invalid(field, `must be an ISO 8601 time, got ${JSON.stringify(value)}`);
}

export function optionalIsoTime(value: unknown, field: string): string | null {
  return value === undefined || value === null ? null : isoTime(value, field);
}

/**
 * JSON text for a jsonb column. JSON.stringify would quietly turn NaN and ±Infinity into null and
 * drop undefined: a stored metric must read back as it was written, so those are refused instead.
 */
export function jsonText(value: unknown, field: string): string {
  const bad = findUnencodable(value, field);
  if (bad !== undefined) throw invalid(bad.path, bad.why);
  return JSON.stringify(value);
}

function findUnencodable(value: unknown, path: string): { path: string; why: string } | undefined {
  switch (typeof value) {
    case "string":
    case "boolean":
      return undefined;
    case "number":
      return Number.isFinite(value) ? undefined : { path, why: `${value} cannot be stored (not finite)` };
    case "undefined":
      return { path, why: "is undefined" };
    case "object": {
      if (value === null) return undefined;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const bad = findUnencodable(value[i], `${path}[${i}]`);
          if (bad) return bad;
        }
        return undefined;
      }
      if ("toJSON" in value && typeof value.toJSON === "function") {
        return findUnencodable(JSON.parse(JSON.stringify(value)), path);
      }
      for (const [k, v] of Object.entries(value)) {
        // An undefined property is an absent one, as in JSON.
        if (v === undefined) continue;
        const bad = findUnencodable(v, `${path}.${k}`);
        if (bad) return bad;
      }
      return undefined;
    }
    default:
      return { path, why: `a ${typeof value} cannot be stored as JSON` };
  }
}

/** A timestamptz as the driver returned it → ISO string. */
export function readTime(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  return new Date(String(value)).toISOString();
}

export function readOptionalTime(value: unknown): string | undefined {
  return value === null || value === undefined ? undefined : readTime(value);
}

/** A bigint as the driver returned it (string, bigint or number) → number. */
export function readInteger(value: unknown): number {
  return Number(value);
}

/** A number at `path` inside a metrics object, or null (unknown stays unknown, never 0). */
export function numberAt(metrics: unknown, ...path: string[]): number | null {
  let v: unknown = metrics;
  for (const key of path) {
    if (typeof v !== "object" || v === null) return null;
    v = (v as Record<string, unknown>)[key];
  }
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}
