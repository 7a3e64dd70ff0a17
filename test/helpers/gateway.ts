/**
 * A gateway on real parts for tests: the store on PGlite in memory, the local backend starting
 * real worker processes (the `sim` runtime unless others are given), artifacts in a temporary
 * directory. `close()` stops everything it started and removes the directory.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalBackend } from "../../src/control/local/index.js";
import { buildGateway, type Gateway } from "../../src/gateway/app.js";
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

export async function startTestGateway(opts: {
  name: string;
  runtimes?: RuntimeDefinition[];
  env?: Record<string, string>;
  bodyLimit?: number;
  /** Hosts runs may reach beyond the gateway's deployments (`--allow-targets`). */
  allowTargets?: string;
}): Promise<TestGateway> {
  const dir = mkdtempSync(join(tmpdir(), `tokenforge-${opts.name}-`));
  const runtimes = new RuntimeRegistry(opts.runtimes ?? [simRuntime(SELF)]);
  const store = await openStore({ dataDir: "memory://" });
  const local = new LocalBackend({ runtimes, stopGraceMs: 3000, ...(opts.env ? { env: opts.env } : {}) });
  const gateway = await buildGateway({
    store,
    deployments: new Deployments(store, { local }, runtimes),
    runtimes,
    artifacts: new FsArtifactStore(join(dir, "artifacts")),
    resultsDir: join(dir, "results"),
    ...(opts.bodyLimit === undefined ? {} : { bodyLimit: opts.bodyLimit }),
    ...(opts.allowTargets === undefined ? {} : { allowTargets: parseAllowTargets(opts.allowTargets) }),
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
