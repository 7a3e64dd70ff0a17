/**
 * Every environment variable TokenForge reads, in one place. Other modules receive these values
 * as arguments from the composition root; none of them reads process.env itself.
 */
import { homedir } from "node:os";
import { join } from "node:path";
import { TokenForgeError } from "./errors.js";
import { CAP_SETTINGS, type CapName, type GatewayCaps } from "./gateway/caps.js";
import { LLAMA_BINARIES, type LlamaBinary } from "./runtimes/llamacpp/binary-choice.js";
import { type ArtifactConfig, artifactConfigFromEnv } from "./store/artifacts/config.js";

export interface TokenForgeEnv {
  /** Where synthetic models are cached (content-addressed). */
  modelCacheDir: string;
  /** Default thread count for CPU engines, when set. */
  threads: number | undefined;
  /** Which llama.cpp build a worker loads (TOKENFORGE_LLAMA_BINARY: auto, prebuilt or native; default auto). */
  llamaBinary: LlamaBinary;
  /** Where `tokenforge bench` writes a run's files by default (TOKENFORGE_RESULTS_DIR, default ./results). */
  resultsDir: string;
  /** PostgreSQL URL for the store (DATABASE_URL); when unset the store is embedded PGlite in `dataDir`. */
  databaseUrl: string | undefined;
  /** PGlite data directory (TOKENFORGE_DATA_DIR, default `<TOKENFORGE_HOME>/data`). */
  dataDir: string;
  /** The Python interpreter of the Transformers worker (TOKENFORGE_PYTHON, default python3). */
  python: string;
  /** Whether this process runs in a Kubernetes pod (KUBERNETES_SERVICE_HOST is set), so pod addresses are reachable. */
  inCluster: boolean;
  /** The gateway the remote commands talk to by default (TOKENFORGE_SERVER), when set. */
  server: string | undefined;
  /** The API key the CLI sends to a gateway (TOKENFORGE_API_KEY), when set. */
  apiKey: string | undefined;
  /** An admin key the gateway accepts without storing it (TOKENFORGE_ADMIN_KEY), when set. */
  adminKey: string | undefined;
  /** The key a worker requires on its API (TOKENFORGE_WORKER_API_KEY, like vLLM's VLLM_API_KEY), when set. */
  workerApiKey: string | undefined;
  /** More names the gateway's `Host` check accepts (TOKENFORGE_ALLOWED_HOSTS, comma-separated), when set. */
  allowedHosts: string[] | undefined;
  /** Where the gateway keeps artifacts (TOKENFORGE_S3_*, TOKENFORGE_ARTIFACTS_DIR); read when asked, as it may refuse. */
  artifacts(): ArtifactConfig;
  /** The value of a variable a config names by name (an API key's `api_key_env`), when set. */
  secret(name: string): string | undefined;
  /** Dataset files API callers may name (TOKENFORGE_DATASETS_DIR; unset: `<data dir>/datasets`). */
  datasetsDir: string | undefined;
  /** Models deployments may name besides synthetic ones (TOKENFORGE_MODELS_DIR), when set. */
  modelsDir: string | undefined;
  /** Cost profiles API callers may name (TOKENFORGE_PROFILES_DIR; unset: the shipped configs/cost-profiles). */
  profilesDir: string | undefined;
  /** Hosts, addresses and CIDRs runs may reach beyond the gateway's deployments (TOKENFORGE_ALLOW_TARGETS, comma-separated). */
  allowTargets: string;
  /** The gateway's caps set by TOKENFORGE_MAX_DEPLOYMENTS, _REPLICAS, _WORKER_PROCESSES and _RUNS. */
  caps: Partial<GatewayCaps>;
}

/** A comma-separated list, blanks dropped; undefined when unset or empty. */
function splitList(raw: string | undefined): string[] | undefined {
  const items = (raw ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
  return items.length === 0 ? undefined : items;
}

/** The caps the environment sets; a value that is not a positive integer is refused naming its variable. */
function capsFromEnv(env: NodeJS.ProcessEnv): Partial<GatewayCaps> {
  const caps: Partial<GatewayCaps> = {};
  for (const [cap, { env: name }] of Object.entries(CAP_SETTINGS) as [CapName, { env: string }][]) {
    const raw = env[name];
    if (raw === undefined || raw === "") continue;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < 1) {
      const message = `${name} must be a positive integer, got "${raw.slice(0, 40)}"`;
      throw new TokenForgeError("invalid_request", message, { field: name });
    }
    caps[cap] = n;
  }
  return caps;
}

export function readEnv(env: NodeJS.ProcessEnv = process.env): TokenForgeEnv {
  const home = env.TOKENFORGE_HOME ?? join(env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "tokenforge");
  const threadsRaw = env.TOKENFORGE_THREADS;
  let threads: number | undefined;
  if (threadsRaw !== undefined && threadsRaw !== "") {
    threads = Number(threadsRaw);
    if (!Number.isInteger(threads) || threads < 1) {
      throw new Error(`TOKENFORGE_THREADS must be a positive integer, got "${threadsRaw}"`);
    }
  }
  const llamaBinary = (env.TOKENFORGE_LLAMA_BINARY || "auto") as LlamaBinary;
  if (!LLAMA_BINARIES.includes(llamaBinary)) {
    throw new Error(
      `TOKENFORGE_LLAMA_BINARY must be one of ${LLAMA_BINARIES.join(", ")}, got "${env.TOKENFORGE_LLAMA_BINARY}"`,
    );
  }
  return {
    modelCacheDir: env.TOKENFORGE_MODEL_CACHE ?? join(home, "models"),
    threads,
    llamaBinary,
    resultsDir: env.TOKENFORGE_RESULTS_DIR ?? "results",
    databaseUrl: env.DATABASE_URL === undefined || env.DATABASE_URL === "" ? undefined : env.DATABASE_URL,
    dataDir: env.TOKENFORGE_DATA_DIR || join(home, "data"),
    python: env.TOKENFORGE_PYTHON || "python3",
    server: env.TOKENFORGE_SERVER || undefined,
    apiKey: env.TOKENFORGE_API_KEY?.trim() || undefined,
    adminKey: env.TOKENFORGE_ADMIN_KEY?.trim() || undefined,
    workerApiKey: env.TOKENFORGE_WORKER_API_KEY?.trim() || undefined,
    allowedHosts: splitList(env.TOKENFORGE_ALLOWED_HOSTS),
    inCluster: Boolean(env.KUBERNETES_SERVICE_HOST),
    artifacts: () => artifactConfigFromEnv(env),
    secret: (name) => env[name],
    datasetsDir: env.TOKENFORGE_DATASETS_DIR || undefined,
    modelsDir: env.TOKENFORGE_MODELS_DIR || undefined,
    profilesDir: env.TOKENFORGE_PROFILES_DIR || undefined,
    allowTargets: env.TOKENFORGE_ALLOW_TARGETS ?? "",
    caps: capsFromEnv(env),
  };
}
