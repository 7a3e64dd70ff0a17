/**
 * Every environment variable TokenForge reads, in one place. Other modules receive these values
 * as arguments from the composition root; none of them reads process.env itself.
 */
import { homedir } from "node:os";
import { join } from "node:path";
import { type ArtifactConfig, artifactConfigFromEnv } from "./store/artifacts/config.js";

export interface TokenForgeEnv {
  /** Where synthetic models are cached (content-addressed). */
  modelCacheDir: string;
  /** Default thread count for CPU engines, when set. */
  threads: number | undefined;
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
  /** Where the gateway keeps artifacts (TOKENFORGE_S3_*, TOKENFORGE_ARTIFACTS_DIR); read when asked, as it may refuse. */
  artifacts(): ArtifactConfig;
  /** The value of a variable a config names by name (an API key's `api_key_env`), when set. */
  secret(name: string): string | undefined;
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
  return {
    modelCacheDir: env.TOKENFORGE_MODEL_CACHE ?? join(home, "models"),
    threads,
    resultsDir: env.TOKENFORGE_RESULTS_DIR ?? "results",
    databaseUrl: env.DATABASE_URL === undefined || env.DATABASE_URL === "" ? undefined : env.DATABASE_URL,
    dataDir: env.TOKENFORGE_DATA_DIR || join(home, "data"),
    python: env.TOKENFORGE_PYTHON || "python3",
    server: env.TOKENFORGE_SERVER || undefined,
    inCluster: Boolean(env.KUBERNETES_SERVICE_HOST),
    artifacts: () => artifactConfigFromEnv(env),
    secret: (name) => env[name],
  };
}
