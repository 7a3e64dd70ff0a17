/**
 * A gateway on real parts for tests: the store on PGlite in memory, the local backend starting
 * real worker processes (the `sim` runtime unless others are given), artifacts in a temporary
 * directory. `close()` stops everything it started and removes the directory.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalBackend } from "../../src/control/local/index.js";
import { buildGateway, type Gateway, type GatewayOptions } from "../../src/gateway/app.js";
import type { GatewayCaps } from "../../src/gateway/caps.js";
import { Deployments } from "../../src/gateway/deployments.js";
import { parseAllowTargets } from "../../src/gateway/targets-allow.js";
import { RuntimeRegistry } from "../../src/runtimes/registry.js";
import { simRuntime } from "../../src/runtimes/sim/index.js";
import type { RuntimeDefinition } from "../../src/spec/runtime.js";
import type { Store } from "../../src/spec/store.js";
import { FsArtifactStore } from "../../src/store/artifacts/index.js";
import { openStore } from "../../src/store/db/open.js";

export const CLI = join(import.meta.dirname, "..", "..", "src", "cli", "tokenforge.ts");
/** How worker processes run TokenForge's own entry point under tsx. */
export const SELF = { command: process.execPath, args: ["--import", "tsx", CLI] };

export interface TestGateway {
  gateway: Gateway;
  store: Store;
  local: LocalBackend;
  dir: string;
  close(): Promise<void>;
}

/** The gateway's own options a test may set, passed to buildGateway as they are. */
type GatewayExtras = Pick<
  GatewayOptions,
  "bodyLimit" | "maxInFlightPerDeployment" | "auth" | "workerApiKey" | "callerRoots" | "maxConcurrentRuns"
>;

export interface TestGatewayOptions extends GatewayExtras {
  /** Names the temporary directory (`tokenforge-<name>-…`). */
  name: string;
  runtimes?: RuntimeDefinition[];
  /** Environment for the worker processes the local backend starts. */
  env?: Record<string, string>;
  /** Hosts runs may reach beyond the gateway's deployments (`--allow-targets`). */
  allowTargets?: string;
  /** Caps on deployments, replicas and local worker processes; the defaults otherwise. */
  caps?: Partial<GatewayCaps>;
  /** A directory made beforehand, with what the test needs in it, in place of a new one; removed on close all the same. */
  dir?: string;
}

export async function startTestGateway(opts: TestGatewayOptions): Promise<TestGateway> {
  const { name, runtimes: given, env, allowTargets, caps, dir: madeDir, ...extras } = opts;
  const dir = madeDir ?? mkdtempSync(join(tmpdir(), `tokenforge-${name}-`));
  const runtimes = new RuntimeRegistry(given ?? [simRuntime(SELF)]);
  const store = await openStore({ dataDir: "memory://" });
  const local = new LocalBackend({ runtimes, stopGraceMs: 3000, ...(env ? { env } : {}) });
  const gateway = await buildGateway({
    store,
    deployments: new Deployments(store, { local }, runtimes, caps === undefined ? {} : { caps }),
    runtimes,
    artifacts: new FsArtifactStore(join(dir, "artifacts")),
    resultsDir: join(dir, "results"),
    ...extras,
    ...(allowTargets === undefined ? {} : { allowTargets: parseAllowTargets(allowTargets) }),
  });
  return {
    gateway,
    store,
    local,
    dir,
    close: async () => {
      await gateway.app.close();
      await gateway.close();
      await local.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
