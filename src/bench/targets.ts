/**
 * The servers a run measures: each runtime is attached to the server its `targets` entry names
 * (which must answer before anything is timed) or started here as a local worker through the
 * local deployment backend, exactly as the gateway starts one: its own process group, the restart
 * policy, the caller's abort, and every process stopped by `close()`. A worker that says its load
 * failed fails the run at once with the worker's reason.
 */
import { request } from "undici";
import { checkHealth } from "../control/health.js";
import { LocalBackend } from "../control/local/index.js";
import { waitForDeployment } from "../control/wait.js";
import { TokenForgeError } from "../errors.js";
import type { RuntimeRegistry } from "../runtimes/registry.js";
import type { DeploymentStatus } from "../spec/deployment.js";
import type { SettingWarning } from "../spec/runtime.js";
import { apiKeyHeaders } from "./auth.js";
import { healthSummary, modelsSummary } from "./health-summary.js";
import type { BenchConfig } from "./types.js";

export interface TargetInfo {
  runtime: string;
  url: string;
  mode: "attached" | "local";
  /** The probe's answer as health-summary.ts records it: status and known scalar keys, never the body. */
  health?: unknown;
  /** Settings a locally started worker could not honour. */
  warnings?: SettingWarning[];
}

export interface TargetOptions {
  config: BenchConfig;
  runtimes: RuntimeRegistry;
  /** Extra arguments for workers started here (e.g. `--parallel 4`). */
  workerArgs: readonly string[];
  /** The value of an environment variable a target's `api_key_env` names. */
  secrets: (name: string) => string | undefined;
  log: (message: string) => void;
  signal?: AbortSignal;
  /** How long a started worker may take to be ready (default 10 min: a large synthetic model is written on first use). */
  readyTimeoutMs?: number;
}

/** The targets of one run; `close()` stops every worker it started. */
export class RunTargets {
  readonly list: TargetInfo[] = [];
  /** Headers per runtime (API keys of attached targets); kept out of the result. */
  readonly auth = new Map<string, Record<string, string>>();
  private backend: LocalBackend | undefined;

  constructor(private readonly o: TargetOptions) {}

  /** Attaches to or starts every target; an unreachable or failed one rejects before anything is sent. */
  async open(): Promise<void> {
    const { config, runtimes } = this.o;
    // Every runtime needs a target or a way to start one here, checked before anything starts.
    const known = runtimes.names();
    for (const name of config.runtimes) {
      if (config.targets[name] === undefined && !known.includes(name)) {
        throw new TokenForgeError(
          "invalid_request",
          `runtime "${name}" has no target and cannot be started here: set targets.${name} to the URL of a running server` +
            ` (runtimes TokenForge starts itself: ${known.join(", ") || "none"})`,
          { field: `targets.${name}` },
        );
      }
      const keyEnv = config.targetAuth?.[name]?.apiKeyEnv;
      if (keyEnv !== undefined) {
        this.auth.set(name, apiKeyHeaders(keyEnv, this.o.secrets, `targets.${name}.api_key_env`));
      }
    }
    for (const name of config.runtimes) {
      const url = config.targets[name];
      if (url !== undefined) {
        const health = await this.probe(url, name, this.auth.get(name));
        this.list.push({ runtime: name, url, mode: "attached", health });
        continue;
      }
      this.o.log(`starting a local ${name} worker for ${config.model}`);
      const status = await this.start(name);
      const workerUrl = status.endpoints[0]!;
      const health = await this.probe(workerUrl, name);
      this.list.push({
        runtime: name,
        url: workerUrl,
        mode: "local",
        health,
        ...(status.warnings === undefined ? {} : { warnings: status.warnings }),
      });
      this.o.log(`${name} worker ready at ${workerUrl}`);
    }
  }

  async close(): Promise<void> {
    await this.backend?.close();
  }

  private async start(name: string): Promise<DeploymentStatus> {
    this.backend ??= new LocalBackend({
      runtimes: this.o.runtimes,
      onOutput: (id, _replica, line) => this.o.log(`[${id.replace(/^bench-/, "")}] ${line}`),
    });
    const backend = this.backend;
    const id = `bench-${name}`;
    await backend.create({
      id,
      model: this.o.config.model,
      runtime: name,
      replicas: 1,
      resources: {},
      target: "local",
      engineArgs: [...this.o.workerArgs],
    });
    try {
      return await waitForDeployment(() => backend.get(id), {
        what: `the local ${name} worker`,
        timeoutMs: this.o.readyTimeoutMs ?? 600_000,
        ...(this.o.signal === undefined ? {} : { signal: this.o.signal }),
      });
    } catch (err) {
      const failure = (await backend.get(id))?.replicas.find((r) => r.failure)?.failure;
      // A command that cannot be started at all (not installed) is the config's problem: the
      // runtime needs a target instead.
      if (failure?.kind === "not-started") {
        throw new TokenForgeError(
          "invalid_request",
          `cannot start a local ${name} worker (${failure.message}): set targets.${name} to the URL of a running server`,
          { field: `targets.${name}` },
        );
      }
      throw err;
    }
  }

  /** GET the runtime's health path (or /v1/models when there is none); anything but an answer is a clear error. */
  private async probe(url: string, runtime: string, headers?: Record<string, string>): Promise<unknown> {
    const base = url.replace(/\/+$/, "");
    const health = await checkHealth(base, this.o.runtimes.health(runtime), {
      timeoutMs: 5000,
      ...(headers === undefined ? {} : { headers }),
    });
    let problem: string;
    if (health.state === "ready") return healthSummary(health.status, health.body);
    if (health.state === "unreachable") problem = health.error;
    else if (health.state === "failed") problem = `it failed to load: ${health.reason}`;
    else if (health.status === 503) problem = "/health answered 503 (still loading)";
    else {
      const models = await listModels(base, headers);
      if (models.ok) return models.body;
      problem = models.error;
    }
    throw new TokenForgeError(
      "not_ready",
      `target for runtime ${runtime} at ${url} is not reachable or not ready: ${problem}`,
      { field: `targets.${runtime}` },
    );
  }
}

/** `GET /v1/models`, for servers without a health route. */
async function listModels(
  base: string,
  headers: Record<string, string> | undefined,
): Promise<{ ok: true; body: unknown } | { ok: false; error: string }> {
  try {
    const res = await request(`${base}/v1/models`, {
      headersTimeout: 5000,
      bodyTimeout: 5000,
      ...(headers === undefined ? {} : { headers }),
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) return { ok: false, error: `/v1/models answered ${res.statusCode}` };
    try {
      return { ok: true, body: modelsSummary(res.statusCode, JSON.parse(text)) };
    } catch {
      return { ok: true, body: modelsSummary(res.statusCode, undefined) };
    }
  } catch (err) {
    return { ok: false, error: (err as Error).message || String(err) };
  }
}
