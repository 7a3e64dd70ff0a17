/**
 * `tokenforge serve`: the gateway. Builds the store (PGlite in --data-dir, or PostgreSQL from
 * DATABASE_URL), the artifact store (a directory, or S3 from TOKENFORGE_S3_*), the local
 * deployment backend, and the HTTP app; on SIGINT/SIGTERM it stops every worker it started.
 *
 * Before anything is opened or restored it takes the PGlite data directory's lock: a second
 * gateway on the same directory is refused (exit 2, naming the first one's pid), a stale lock is
 * taken over. With DATABASE_URL no lock is taken: PostgreSQL serves several clients, and a
 * rolling update runs the new gateway beside the old one until it is ready.
 */
import { join } from "node:path";
import type { Command } from "commander";
import type { TokenForgeEnv } from "../config.js";
import { KubernetesBackend } from "../control/kubernetes/backend.js";
import { LocalBackend } from "../control/local/index.js";
import { buildGateway } from "../gateway/app.js";
import { Deployments } from "../gateway/deployments.js";
import { interruptLeftoverRuns } from "../gateway/recovery.js";
import type { RuntimeRegistry } from "../runtimes/registry.js";
import { openArtifactStore, startRetryLoop } from "../store/artifacts/index.js";
import { type DataDirLock, lockDataDir } from "../store/db/data-dir-lock.js";
import { openStore } from "../store/db/open.js";
import { isMemoryDir } from "../store/db/pglite.js";
import { VERSION } from "../version.js";
import { port } from "./parse.js";

interface ServeFlags {
  host: string;
  port: number;
  dataDir?: string;
  kubernetes?: string | true;
  log: boolean;
}

export function registerServeCommand(program: Command, env: TokenForgeEnv, runtimes: RuntimeRegistry): void {
  program
    .command("serve")
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
    .option("--log", "log every request", false)
    .action(async (flags: ServeFlags) => {
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
  const store = await openStore({
    ...(env.databaseUrl ? { databaseUrl: env.databaseUrl } : {}),
    dataDir,
  });
  // An upload that failed stays spooled locally; when a retry lands it, the index says so.
  const artifacts = openArtifactStore(env.artifacts(), {
    onUploaded: (a) => store.putArtifact({ ...a, uploaded: true }),
  });
  await artifacts.retryPending();
  const retries = startRetryLoop(artifacts, { intervalMs: 60_000 });
  const local = new LocalBackend({ runtimes });
  const kubernetes =
    flags.kubernetes === undefined
      ? undefined
      : new KubernetesBackend({
          runtimes,
          version: VERSION,
          readPodHealth: env.inCluster,
          ...(typeof flags.kubernetes === "string" ? { namespace: flags.kubernetes } : {}),
        });
  const deployments = new Deployments(store, { local, ...(kubernetes ? { kubernetes } : {}) }, runtimes);
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
    logger: flags.log,
  });
  const address = await gateway.app.listen({ host: flags.host, port: flags.port });
  process.stderr.write(`gateway listening on ${address} (API docs at ${address}/docs)\n`);
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
