/**
 * `tokenforge bench`'s workload flags, named as `vllm bench serve` names them, so a vLLM user needs
 * no YAML: `--base-url`, `--request-rate`, `--burstiness`, `--max-concurrency`, `--num-prompts`,
 * `--random-input-len`, `--random-output-len`, `--random-range-ratio`, `--endpoint`,
 * `--api-key-env` (with `--model` and `--seed`). They are laid over the config file's own words
 * (or the built-in workload when there is no file) before the one validation every config goes
 * through, so a flag wins over the file, every workload of the file takes the workload flags, and
 * a bad combination is reported like a bad file. The result records the file, the flags and the
 * config they made (`invocation`).
 */
import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import { TokenForgeError } from "../errors.js";
import { positiveInt, positiveNumber } from "./parse.js";

/** The flags as commander parsed them (absent when not given). */
export interface WorkloadFlags {
  model?: string;
  runtime?: string;
  baseUrl?: string;
  requestRate?: number | "inf";
  burstiness?: number;
  maxConcurrency?: number;
  numPrompts?: number;
  randomInputLen?: number;
  randomOutputLen?: number;
  randomRangeRatio?: number;
  endpoint?: "completions" | "chat";
  apiKeyEnv?: string;
}

/** The runtime a `--base-url` server is attached as when neither `--runtime` nor the file names one. */
export const ATTACHED_RUNTIME = "openai";

function requestRate(value: string): number | "inf" {
  return value === "inf" ? "inf" : positiveNumber(value);
}

function endpoint(value: string): "completions" | "chat" {
  const v = value.replace(/^\/?v1\//, "").replace(/^\//, "");
  if (v === "completions" || v === "chat/completions" || v === "chat") {
    return v === "completions" ? "completions" : "chat";
  }
  throw new InvalidArgumentError(
    `expected /v1/completions or /v1/chat/completions (or completions, chat), got "${value}"`,
  );
}

function ratio(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0 || n >= 1)
    throw new InvalidArgumentError(`expected a fraction in [0, 1), got "${value}"`);
  return n;
}

function envName(value: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(value))
    throw new InvalidArgumentError(`expected an environment variable name, got "${value}"`);
  return value;
}

function httpUrl(value: string): string {
  try {
    const u = new URL(value);
    if (u.protocol === "http:" || u.protocol === "https:") return value.replace(/\/+$/, "");
  } catch {
    // said below
  }
  throw new InvalidArgumentError(`expected an http(s) URL, got "${value}"`);
}

/** Adds the flags to the `bench` command. */
export function addWorkloadFlags(cmd: Command): Command {
  return cmd
    .option(
      "--base-url <url>",
      "attach to the OpenAI-compatible server at this URL (as vllm bench serve)",
      httpUrl,
    )
    .option("--request-rate <r>", 'offered requests per second, or "inf" for all at once', requestRate)
    .option(
      "--burstiness <b>",
      "gamma arrivals' shape: 1 is Poisson, below 1 burstier (as vLLM)",
      positiveNumber,
    )
    .option(
      "--max-concurrency <n>",
      "requests in flight at most; the rest wait, and the wait is reported",
      positiveInt,
    )
    .option(
      "--num-prompts <n>",
      "requests to send (replaces the workload's num_requests or duration)",
      positiveInt,
    )
    .option("--random-input-len <n>", "prompt tokens per request", positiveInt)
    .option("--random-output-len <n>", "output tokens per request (exact: ignore_eos)", positiveInt)
    .option(
      "--random-range-ratio <r>",
      "draw lengths uniformly from [len × (1 − r), len × (1 + r)] (default 0: fixed)",
      ratio,
    )
    .option("--endpoint <path>", "/v1/completions or /v1/chat/completions", endpoint)
    .option(
      "--api-key-env <name>",
      "environment variable holding the server's API key (sent as a Bearer token)",
      envName,
    );
}

type Raw = Record<string, unknown>;

const WORKLOAD_KEYS = [
  "model",
  "runtime",
  "baseUrl",
  "requestRate",
  "burstiness",
  "maxConcurrency",
  "numPrompts",
  "randomInputLen",
  "randomOutputLen",
  "randomRangeRatio",
  "endpoint",
  "apiKeyEnv",
] as const satisfies readonly (keyof WorkloadFlags)[];

/** The workload flags the user typed (a default value is not one), for the overlay and the record. */
export function givenFlags(flags: WorkloadFlags, cmd: Command): WorkloadFlags {
  const out: Record<string, unknown> = {};
  for (const key of WORKLOAD_KEYS) {
    if (flags[key] === undefined || cmd.getOptionValueSource(key) === "default") continue;
    out[key] = flags[key];
  }
  return out as WorkloadFlags;
}

function lengths(len: number, r: number | undefined): unknown {
  if (r === undefined || r === 0) return len;
  const min = Math.max(1, Math.ceil(len * (1 - r)));
  const max = Math.max(min, Math.floor(len * (1 + r)));
  return min === max ? min : { uniform: [min, max] };
}

/**
 * The file's value with the flags laid over it (a new object; the file's is untouched). `given`
 * holds only the flags the user typed, so a default never overrides the file.
 */
export function overlay(file: Raw, given: WorkloadFlags): Raw {
  const raw: Raw = structuredClone(file);
  if (given.model !== undefined) raw.model = given.model;
  if (given.baseUrl !== undefined || given.apiKeyEnv !== undefined) attach(raw, given);
  else if (given.runtime !== undefined) raw.runtimes = [given.runtime];
  if (Array.isArray(raw.workloads)) {
    raw.workloads = raw.workloads.map((w: unknown) =>
      typeof w === "object" && w !== null && !Array.isArray(w) ? workload(w as Raw, given) : w,
    );
  }
  return raw;
}

function attach(raw: Raw, given: WorkloadFlags): void {
  const listed = Array.isArray(raw.runtimes) ? (raw.runtimes as unknown[]) : [];
  const targets = (typeof raw.targets === "object" && raw.targets !== null ? raw.targets : {}) as Raw;
  // The file's one runtime keeps its name when the file already attaches it (the flag moves its
  // URL); a runtime the file would start locally is not what runs at --base-url.
  const only = listed.length === 1 && typeof listed[0] === "string" ? listed[0] : undefined;
  if (given.runtime === undefined && listed.length > 1) {
    throw new TokenForgeError(
      "invalid_request",
      `--base-url attaches one server, and the config runs ${listed.length} runtimes (${listed.join(", ")}): choose one with --runtime`,
      { field: "base-url" },
    );
  }
  const runtime =
    given.runtime ??
    (only !== undefined && (only in targets || given.baseUrl === undefined) ? only : ATTACHED_RUNTIME);
  const old = targets[runtime];
  const url = given.baseUrl ?? (typeof old === "string" ? old : (old as Raw | undefined)?.url);
  if (url === undefined) {
    throw new TokenForgeError(
      "invalid_request",
      `--api-key-env names the key of an attached server: give its --base-url (the config attaches none for ${runtime})`,
      { field: "api-key-env" },
    );
  }
  const keyEnv =
    given.apiKeyEnv ?? (typeof old === "object" && old !== null ? (old as Raw).api_key_env : undefined);
  raw.runtimes = [runtime];
  raw.targets = { [runtime]: keyEnv === undefined ? url : { url, api_key_env: keyEnv } };
}

function workload(file: Raw, f: WorkloadFlags): Raw {
  const w: Raw = { ...file };
  if (f.requestRate !== undefined) {
    w.qps = f.requestRate;
    delete w.concurrency;
  }
  if (f.burstiness !== undefined)
    w.arrival = f.burstiness === 1 ? "poisson" : { gamma: { burstiness: f.burstiness } };
  if (f.maxConcurrency !== undefined) w.max_concurrency = f.maxConcurrency;
  if (f.numPrompts !== undefined) {
    w.num_requests = f.numPrompts;
    delete w.duration_s;
  }
  if (f.randomInputLen !== undefined) w.prompt_len = lengths(f.randomInputLen, f.randomRangeRatio);
  if (f.randomOutputLen !== undefined) w.gen_tokens = lengths(f.randomOutputLen, f.randomRangeRatio);
  if (f.endpoint !== undefined) w.endpoint = f.endpoint;
  return w;
}
