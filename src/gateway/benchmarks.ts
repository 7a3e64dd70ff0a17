/**
 * Benchmark runs started through the API (`POST /benchmarks/run`): validated like a config file,
 * recorded in the store, run in the background through the harness (deploying locally any
 * runtime that has no ready deployment of the model, and removing what it deployed afterwards),
 * with results stored row by row and the run's files kept as artifacts. A run ends `failed` with
 * its reason when its first-request check is refused or its errors break a workload's limit.
 */
import { randomUUID } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { type PairCheckpoint, readCheckpoints } from "../bench/checkpoint.js";
import { configFromObject } from "../bench/config.js";
import { environment } from "../bench/environment.js";
import { redactText } from "../bench/redact.js";
import { runBenchmark, type WorkloadResult } from "../bench/run.js";
import type { Progress } from "../bench/runner.js";
import type { BenchConfig } from "../bench/types.js";
import { TokenForgeError } from "../errors.js";
import { writeReport } from "../report/write.js";
import type { RuntimeRegistry } from "../runtimes/registry.js";
import type { ApiKeyRole, ArtifactStore, RunFilter, RunRow, Store } from "../spec/store.js";
import { putFile } from "../store/artifacts/index.js";
import { CapReached, DEFAULT_CAPS } from "./caps.js";
import type { Deployments } from "./deployments.js";
import { WriteQueue } from "./write-queue.js";

export interface BenchmarkJobsOptions {
  store: Store;
  deployments: Deployments;
  runtimes: RuntimeRegistry;
  artifacts: ArtifactStore;
  /** Where runs write their files (one directory per run id). */
  resultsDir: string;
  /** How long a deployment made for a run may take to become ready. */
  readyTimeoutMs?: number;
  /** Runs queued or running at once; one more is refused with 429 (caps.ts). */
  maxConcurrentRuns?: number;
  /** The key the local backend gave its workers: runs send it to the deployments they measure. */
  workerApiKey?: string;
}

/** Who starts or reads a run: the owner recorded with it, and whose runs a caller may reach. */
export interface RunCaller {
  /** The API key id recorded as the run's owner (none on a gateway without keys). */
  owner?: string | undefined;
  /** A `user` runs only on existing deployments and attaches to no URL. */
  role?: ApiKeyRole;
  /** Only runs owned by this key id are found (undefined: every run). */
  scope?: string | undefined;
}

/** The environment variable name under which a run's worker key is looked up (never set in the environment). */
const WORKER_KEY_NAME = "TOKENFORGE_WORKER_API_KEY";

interface Job {
  controller: AbortController;
  /** The run's store writes, in order, retried through a database outage. */
  writes: WriteQueue;
  progress?: Progress & { workload: string; runtime: string };
  done: Promise<void>;
}

export class BenchmarkJobs {
  private readonly jobs = new Map<string, Job>();

  /** Runs queued or running, held against the cap; `starting` counts those being recorded now. */
  private readonly active = new Set<string>();
  private starting = 0;

  constructor(private readonly o: BenchmarkJobsOptions) {}

  /**
   * Validates and queues a run; the answer comes before any request is sent. `reach` sees the
   * validated config before anything is stored (the gateway's check of the URLs a run may
   * connect to) and may refuse it.
   */
  async start(
    body: unknown,
    by: RunCaller = {},
    reach?: (config: BenchConfig) => Promise<void>,
  ): Promise<RunRow> {
    const config = configFromObject(body);
    // A run started over HTTP must not make the gateway send its own environment's secrets to a
    // URL the caller chose: API keys for attached targets are for runs started from the CLI.
    const withKey = Object.keys(config.targetAuth ?? {});
    if (withKey.length > 0) {
      throw new TokenForgeError(
        "invalid_request",
        `targets.${withKey[0]}.api_key_env is not accepted through the gateway: start runs that need an API key with tokenforge bench`,
        { field: `targets.${withKey[0]}.api_key_env` },
      );
    }
    if (by.role === "user") await this.userMayRun(config);
    await reach?.(config);
    const now = new Date();
    const id = `run-${now.toISOString().replace(/[-:]/g, "").replace(/\..*/, "")}-${randomUUID().slice(0, 6)}`;
    const row: RunRow = {
      id,
      status: "queued",
      model: config.model,
      runtimes: config.runtimes,
      config,
      seed: config.seed,
      environment: environment(),
      createdAt: now.toISOString(),
      ...(by.owner === undefined ? {} : { owner: by.owner }),
    };
    const release = this.reserveRun();
    try {
      await this.o.store.createRun(row);
      this.launch(id, config, undefined, by.role !== "user");
    } finally {
      release();
    }
    return row;
  }

  /** Room for one more run, or CapReached (429) before anything is stored. Synchronous. */
  private reserveRun(): () => void {
    const cap = this.o.maxConcurrentRuns ?? DEFAULT_CAPS.concurrentRuns;
    const now = this.active.size + this.starting;
    if (now >= cap)
      throw new CapReached("concurrentRuns", cap, `${now} benchmark runs are queued or running`);
    this.starting++;
    return () => {
      this.starting--;
    };
  }

  /**
   * A user's run measures what an admin deployed: it attaches to no URL and starts no deployment
   * (403 naming what needs the admin role). A deployment still starting is waited for as usual.
   */
  private async userMayRun(config: BenchConfig): Promise<void> {
    const attached = Object.keys(config.targets);
    if (attached.length > 0) {
      throw new TokenForgeError(
        "forbidden",
        `targets.${attached[0]}: attaching a run to a URL needs the admin role; a user key runs on existing deployments`,
        { field: `targets.${attached[0]}` },
      );
    }
    for (const runtime of config.runtimes) {
      try {
        await this.o.deployments.route(config.model, runtime);
      } catch (err) {
        if (!(err instanceof TokenForgeError) || err.code !== "model_not_found") continue;
        throw new TokenForgeError(
          "forbidden",
          `no deployment of ${config.model} on ${runtime}, and deploying one needs the admin role: ask an admin to deploy it first`,
          { field: "runtimes" },
        );
      }
    }
  }

  /** The run, when it exists and the caller may reach it; else 404 (another key's run is not told apart from none). */
  private async owned(id: string, scope: string | undefined): Promise<RunRow> {
    const run = await this.o.store.getRun(id);
    if (!run || (scope !== undefined && run.owner !== scope))
      throw new TokenForgeError("not_found", `no benchmark run ${id}`, { field: "id" });
    return run;
  }

  async get(id: string, scope?: string) {
    const run = await this.owned(id, scope);
    const [results, artifacts] = await Promise.all([
      this.o.store.listResults(id),
      this.o.store.listArtifacts(id),
    ]);
    return { run, progress: this.jobs.get(id)?.progress, results, artifacts };
  }

  /** One of a run's artifacts, with its content type. */
  async artifact(id: string, name: string, scope?: string): Promise<{ body: Buffer; contentType: string }> {
    await this.owned(id, scope);
    const row = (await this.o.store.listArtifacts(id)).find((a) => a.name === name);
    const body = row ? await this.o.artifacts.get(id, name) : undefined;
    if (!row || !body)
      throw new TokenForgeError("not_found", `run ${id} has no artifact ${name}`, { field: "name" });
    return { body, contentType: row.contentType };
  }

  list(filter: RunFilter): Promise<RunRow[]> {
    return this.o.store.listRuns(filter);
  }

  async cancel(id: string, scope?: string): Promise<RunRow> {
    const run = await this.owned(id, scope);
    const job = this.jobs.get(id);
    if (!job || (run.status !== "queued" && run.status !== "running")) {
      throw new TokenForgeError("invalid_request", `run ${id} is ${run.status}: nothing to cancel`, {
        field: "id",
      });
    }
    job.controller.abort();
    await job.done;
    return (await this.o.store.getRun(id))!;
  }

  /**
   * Runs an interrupted run's unfinished pairs with the same plan and seed, in the same
   * directory, keeping the pairs it had finished; the answer comes before any request is sent.
   */
  async resume(id: string, by: RunCaller = {}): Promise<RunRow> {
    const run = await this.owned(id, by.scope);
    if (run.status !== "interrupted") {
      throw new TokenForgeError(
        "invalid_request",
        `run ${id} is ${run.status}: only an interrupted run resumes`,
        {
          field: "id",
        },
      );
    }
    // The stored config is the normalized one the run started with: same plan, same seed.
    const config = run.config as BenchConfig;
    if (by.role === "user") await this.userMayRun(config);
    const release = this.reserveRun();
    try {
      await this.o.store.updateRun(id, { status: "queued" });
      const queued = (await this.o.store.getRun(id))!;
      this.launch(id, config, readCheckpoints(join(this.o.resultsDir, id)), by.role !== "user");
      return queued;
    } finally {
      release();
    }
  }

  private launch(id: string, config: BenchConfig, resume?: PairCheckpoint[], mayDeploy = true): void {
    const job: Job = { controller: new AbortController(), writes: new WriteQueue(), done: Promise.resolve() };
    this.active.add(id);
    job.done = this.execute(id, config, job, resume, mayDeploy)
      .catch(() => {})
      .finally(() => this.active.delete(id));
    this.jobs.set(id, job);
  }

  /** Cancels every run in progress and waits for them to record how they ended. */
  async close(): Promise<void> {
    for (const job of this.jobs.values()) {
      job.controller.abort();
      // Shutting down: a write still failing is left to the next start's recovery.
      job.writes.close();
    }
    await Promise.all([...this.jobs.values()].map((j) => j.done));
  }

  /**
   * Runs a queued run. Each finished workload × runtime pair is on disk (the harness's checkpoint)
   * before the next starts, and its results are queued for the store at once; the store writes
   * go through the run's write queue, so a database outage delays them instead of losing them.
   */
  private async execute(
    id: string,
    config: BenchConfig,
    job: Job,
    resume?: PairCheckpoint[],
    mayDeploy = true,
  ): Promise<void> {
    const { store } = this.o;
    const { writes } = job;
    const created: string[] = [];
    const stored = new Set<WorkloadResult>();
    const storeResult = (r: WorkloadResult) => {
      stored.add(r);
      const row = { runId: id, workload: r.workload, runtime: r.runtime, metrics: r.metrics };
      writes.push(`result ${r.workload} on ${r.runtime}`, () => store.putResult(row));
    };
    const ended = (patch: Parameters<Store["updateRun"]>[1]) =>
      writes.push(`ending run ${id}`, () =>
        store.updateRun(id, { ...patch, finishedAt: new Date().toISOString() }),
      );
    try {
      await store.updateRun(id, { status: "running", startedAt: new Date().toISOString() });
      const targets = { ...config.targets };
      // Deployments' workers are reached with the local backend's worker key (none is stored).
      const targetAuth = { ...config.targetAuth };
      for (const runtime of config.runtimes) {
        if (targets[runtime] !== undefined) continue;
        targets[runtime] = await this.endpointFor(
          id,
          config.model,
          runtime,
          created,
          job.controller.signal,
          mayDeploy,
        );
        if (this.o.workerApiKey !== undefined) targetAuth[runtime] = { apiKeyEnv: WORKER_KEY_NAME };
      }
      const outDir = join(this.o.resultsDir, id);
      const workerKey = this.o.workerApiKey;
      const result = await runBenchmark({
        config: { ...config, targets, ...(Object.keys(targetAuth).length > 0 ? { targetAuth } : {}) },
        secrets: (name) => (name === WORKER_KEY_NAME ? workerKey : undefined),
        runtimes: this.o.runtimes,
        outDir,
        signal: job.controller.signal,
        onEvent: (e) => {
          if (e.kind === "progress")
            job.progress = { ...e.progress, workload: e.workload, runtime: e.runtime };
        },
        ...(resume === undefined ? {} : { resume }),
        onPair: (pair) => {
          for (const r of pair.results) storeResult(r);
        },
      });
      // What no checkpoint carried: the results of a pair cut short by a cancel.
      for (const r of result.results) if (!stored.has(r)) storeResult(r);
      await this.keepArtifacts(id, outDir, writes);
      // A run reads as ended only once what it deployed for itself is gone.
      await this.removeDeployments(created);
      const cancelled = job.controller.signal.aborted;
      // A run whose errors broke a workload's limit ends failed, with the harness's reason.
      ended({
        status: cancelled ? "cancelled" : result.status,
        ...(cancelled || result.failure === undefined ? {} : { error: redactText(result.failure.message) }),
        environment: result.environment,
      });
    } catch (err) {
      await this.removeDeployments(created);
      ended({
        status: job.controller.signal.aborted ? "cancelled" : "failed",
        // A target's refusal may quote a key; the store keeps the reason without it.
        error: redactText((err as Error).message),
      });
    } finally {
      await this.removeDeployments(created);
      await writes.flush();
    }
  }

  /** Deletes the deployments a run made for itself (each once; a failed delete is left to the operator). */
  private async removeDeployments(created: string[]): Promise<void> {
    for (const dep of created.splice(0)) await this.o.deployments.delete(dep).catch(() => {});
  }

  /** A ready deployment's endpoint, deploying one locally (and waiting for it) when there is none. */
  private async endpointFor(
    runId: string,
    model: string,
    runtime: string,
    created: string[],
    signal: AbortSignal,
    mayDeploy = true,
  ): Promise<string> {
    const deadline = performance.now() + (this.o.readyTimeoutMs ?? 600_000);
    // A deployment that exists but is still starting is waited for, not duplicated.
    for (;;) {
      try {
        return (await this.o.deployments.route(model, runtime)).endpoint;
      } catch (err) {
        if (!(err instanceof TokenForgeError)) throw err;
        if (err.code === "model_not_found" && !mayDeploy)
          throw new Error(
            `no deployment of ${model} on ${runtime} any more, and this run may not deploy one`,
          );
        if (err.code === "model_not_found") break;
        if (err.code !== "not_ready" || signal.aborted || performance.now() > deadline) throw err;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    const dep = await this.o.deployments.deploy({ model, runtime, target: "local" }, runId);
    created.push(dep.id);
    for (;;) {
      const d = await this.o.deployments.get(dep.id);
      if (d.endpoints.length > 0) return d.endpoints[0]!;
      if (d.status === "failed")
        throw new Error(`deploying ${model} on ${runtime} failed: ${d.last_error ?? "unknown"}`);
      if (signal.aborted) throw new Error("cancelled while deploying");
      if (performance.now() > deadline) throw new Error(`deploying ${model} on ${runtime} timed out`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** result.json, the gzipped request traces, the report and the vLLM views, indexed in the store. */
  private async keepArtifacts(id: string, outDir: string, writes: WriteQueue): Promise<void> {
    const files: [name: string, path: string][] = [["result.json", join(outDir, "result.json")]];
    // Traces are gzipped as a stream (requests.jsonl → requests.jsonl.gz), never held whole.
    if (existsSync(join(outDir, "requests.jsonl")))
      files.push(["requests.jsonl", join(outDir, "requests.jsonl")]);
    try {
      files.push(["report.html", writeReport(join(outDir, "result.json")).path]);
    } catch {
      // A run without a report still keeps its results.
    }
    if (existsSync(join(outDir, "vllm"))) {
      for (const f of readdirSync(join(outDir, "vllm"))) files.push([`vllm/${f}`, join(outDir, "vllm", f)]);
    }
    for (const [name, path] of files) {
      const row = await putFile(this.o.artifacts, id, name, path);
      writes.push(`artifact ${name}`, () => this.o.store.putArtifact(row));
    }
  }
}
