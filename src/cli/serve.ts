/**
 * `tokenforge serve`: the gateway. Builds the store (PGlite in --data-dir, or PostgreSQL from
 * DATABASE_URL), the artifact store (a directory, or S3 from TOKENFORGE_S3_*), the local
 * deployment backend, and the HTTP app; on SIGINT/SIGTERM it stops every worker it started.
 *
 * Before anything is opened or restored it takes the PGlite data directory's lock: a second
 * gateway on the same directory is refused (exit 2, naming the first one's pid), a stale lock is
 * taken over. With DATABASE_URL no lock is taken: PostgreSQL serves several clients, and a
 * rolling update runs the new gateway beside the old one until it is ready.
 *
 * Access (docs/security.md): with no API key in the store and no TOKENFORGE_ADMIN_KEY the gateway
 * serves without keys, and so only on a loopback address: any other `--host` is refused (exit 2)
 * before a worker starts. Workers it starts locally get a random key of this process, which the
 * gateway sends them, so nothing else on the host reaches them around the gateway.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { Command } from "commander";
import type { TokenForgeEnv } from "../config.js";
import { LocalBackend } from "../control/local/index.js";
import { TokenForgeError } from "../errors.js";
import { DEFAULT_MAX_IN_FLIGHT_PER_DEPLOYMENT } from "../gateway/admission.js";
import { checkEnvAdminKey } from "../gateway/api-keys.js";
import { buildGateway } from "../gateway/app.js";
import { DEFAULT_KEY_LIMITS, isLoopbackHost } from "../gateway/auth.js";
import { Deployments } from "../gateway/deployments.js";
import { interruptLeftoverRuns } from "../gateway/recovery.js";
import type { RuntimeRegistry } from "../runtimes/registry.js";
import type { Store } from "../spec/store.js";
import { openArtifactStore, startRetryLoop } from "../store/artifacts/index.js";
import { type DataDirLock, lockDataDir } from "../store/db/data-dir-lock.js";
import { openStore } from "../store/db/open.js";
import { isMemoryDir } from "../store/db/pglite.js";
import { VERSION } from "../version.js";
import { port, positiveInt } from "./parse.js";
import { addReachOptions, gatewayReach, type ReachFlags } from "./serve-reach.js";

interface ServeFlags extends ReachFlags {
  host: string;
  port: number;
  dataDir?: string;
  kubernetes?: string | true;
  maxInflightPerDeployment: number;
  metricsAuth: boolean;
  allowedHosts?: string[];
  keyRate: number;
  keyBurst: number;
  keyGenerations: number;
  log: boolean;
}

function hostList(value: string, previous: string[] = []): string[] {
  const names = value
    .split(",")
    .map((h) => h.trim())
    .filter((h) => h !== "");
  return [...previous, ...names];
}

export function registerServeCommand(program: Command, env: TokenForgeEnv, runtimes: RuntimeRegistry): void {
  const command = program.command("serve");
  addReachOptions(command);
  command
    .description("run the gateway: deployments, inference, OpenAI routes and benchmark runs over HTTP")
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("--port <port>", "port (0 picks a free one)", port, 8080)
    .option(
      "--data-dir <dir>",
      "PGlite data directory when DATABASE_URL is not set (default $TOKENFORGE_DATA_DIR)",
    )
    .option(
      "--kubernetes [namespace]",
      "also deploy to Kubernetes (kubeconfig as kubectl finds it, or in-cluster), in this namespace",
    )
    .option(
      "--max-inflight-per-deployment <n>",
      "generation requests forwarded to one deployment at once; more get 429 with Retry-After",
      positiveInt,
      DEFAULT_MAX_IN_FLIGHT_PER_DEPLOYMENT,
    )
    .option("--metrics-auth", "require an API key (any role) for /metrics and service discovery too", false)
    .option(
      "--allowed-hosts <names>",
      "more names the Host header may carry, comma-separated (`*.example.com`; `*` for any; default TOKENFORGE_ALLOWED_HOSTS); loopback names and the listen address always pass",
      hostList,
    )
    .option(
      "--key-rate <n>",
      "requests per second one API key may sustain",
      positiveInt,
      DEFAULT_KEY_LIMITS.ratePerSecond,
    )
    .option("--key-burst <n>", "requests one API key may send at once", positiveInt, DEFAULT_KEY_LIMITS.burst)
    .option(
      "--key-generations <n>",
      "generations (streams or not) of one API key in flight at once",
      positiveInt,
      DEFAULT_KEY_LIMITS.maxGenerations,
    )
    .option("--log", "log every request (never the Authorization header)", false)
    .action(async (flags: ServeFlags) => {
      if (env.adminKey !== undefined) checkEnvAdminKey(env.adminKey);
      const dataDir = flags.dataDir ?? env.dataDir;
      const lock = env.databaseUrl || isMemoryDir(dataDir) ? undefined : takeLock(dataDir);
      try {
        await serve(flags, env, runtimes, dataDir);
      } catch (err) {
        lock?.release();
        throw err;
      }
    });
}

/** The data directory's lock, released when this process exits however it exits normally. */
function takeLock(dataDir: string): DataDirLock {
  const lock = lockDataDir(dataDir);
  if (lock.tookOver)
    process.stderr.write(
      `took over the lock on ${dataDir} from pid ${lock.tookOver.pid}, which is no longer running\n`,
    );
  process.once("exit", () => lock.release());
  return lock;
}

async function serve(flags: ServeFlags, env: TokenForgeEnv, runtimes: RuntimeRegistry, dataDir: string) {
  // Settings first: a bad allow-list entry is refused before anything is opened.
  const reach = gatewayReach(flags, env, dataDir);
  const store = await openStore({
    ...(env.databaseUrl ? { databaseUrl: env.databaseUrl } : {}),
    dataDir,
  });
  try {
    await refuseOpenExposure(store, flags.host, env.adminKey !== undefined);
  } catch (err) {
    await store.close().catch(() => {});
    throw err;
  }
  // An upload that failed stays spooled locally; when a retry lands it, the index says so.
  const artifacts = openArtifactStore(env.artifacts(), {
    onUploaded: (a) => store.putArtifact({ ...a, uploaded: true }),
  });
  await artifacts.retryPending();
  const retries = startRetryLoop(artifacts, { intervalMs: 60_000 });
  // Every worker started here requires this key; only this gateway process knows it.
  const workerApiKey = randomBytes(32).toString("base64url");
  const local = new LocalBackend({
    runtimes,
    // The gateway's own keys are blanked: an engine has no use for them.
    env: {
      TOKENFORGE_WORKER_API_KEY: workerApiKey,
      VLLM_API_KEY: workerApiKey,
      TOKENFORGE_ADMIN_KEY: "",
      TOKENFORGE_API_KEY: "",
    },
  });
  const kubernetes =
    flags.kubernetes === undefined
      ? undefined
      : // The Kubernetes client loads only when this gateway deploys there.
        new (await import("../control/kubernetes/backend.js")).KubernetesBackend({
          runtimes,
          version: VERSION,
          readPodHealth: env.inCluster,
          ...(typeof flags.kubernetes === "string" ? { namespace: flags.kubernetes } : {}),
        });
  const deployments = new Deployments(store, { local, ...(kubernetes ? { kubernetes } : {}) }, runtimes, {
    roots: reach.modelRoots,
    caps: reach.caps,
  });
  // Runs the previous process left running ended with it: interrupted, their finished pairs kept.
  const resultsDir = join(env.resultsDir, "gateway");
  for (const r of await interruptLeftoverRuns(store, resultsDir)) {
    process.stderr.write(
      `run ${r.id} was interrupted by the last stop: ${r.kept} of ${r.total} pair(s) kept\n`,
    );
  }
  const restored = await deployments.restore();
  if (restored.length > 0)
    process.stderr.write(`restarting ${restored.length} stored deployment(s): ${restored.join(", ")}\n`);
  const gateway = await buildGateway({
    store,
    deployments,
    runtimes,
    artifacts,
    resultsDir,
    maxInFlightPerDeployment: flags.maxInflightPerDeployment,
    callerRoots: reach.callerRoots,
    allowTargets: reach.allowTargets,
    maxConcurrentRuns: reach.caps.concurrentRuns,
    logger: flags.log,
    workerApiKey,
    auth: {
      ...(env.adminKey === undefined ? {} : { envAdminKey: env.adminKey }),
      openWhenNoKeys: isLoopbackHost(flags.host),
      metricsAuth: flags.metricsAuth,
      listenHost: flags.host,
      ...((flags.allowedHosts ?? env.allowedHosts) === undefined
        ? {}
        : { allowedHosts: flags.allowedHosts ?? env.allowedHosts }),
      limits: {
        ratePerSecond: flags.keyRate,
        burst: flags.keyBurst,
        maxGenerations: flags.keyGenerations,
      },
    },
  });
  const address = await gateway.app.listen({ host: flags.host, port: flags.port });
  process.stderr.write(`gateway listening on ${address} (API docs at ${address}/docs)\n`);
  if (gateway.auth.open)
    process.stderr.write(
      "no API key exists: serving without keys, on loopback only (tokenforge keys create makes one; docs/security.md)\n",
    );
  let closing = false;
  const stop = async () => {
    if (closing) return;
    closing = true;
    await gateway.app.close();
    await gateway.close();
    await retries.stop();
    await local.close();
    await kubernetes?.close();
    await artifacts.close();
    await store.close();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

/**
 * Without a usable key the gateway would serve anyone who reaches it: allowed on a loopback
 * address only. Refused (exit 2) before any deployment is restored.
 */
async function refuseOpenExposure(store: Store, host: string, envKey: boolean): Promise<void> {
  if (isLoopbackHost(host) || envKey) return;
  const active = (await store.listApiKeys()).filter((k) => k.revokedAt === undefined);
  if (active.length > 0) return;
  throw new TokenForgeError(
    "invalid_request",
    `refusing to listen on ${host} without an API key: anyone who reaches it could deploy processes and read every run. ` +
      "Create an admin key first (tokenforge keys create --name admin --role admin, with the same DATABASE_URL or --data-dir), " +
      "or set TOKENFORGE_ADMIN_KEY, or listen on 127.0.0.1 (docs/security.md)",
    { field: "host" },
  );
}
