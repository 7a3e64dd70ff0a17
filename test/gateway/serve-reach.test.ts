/**
 * `tokenforge serve`'s reach settings (cli/serve-reach.ts, config.ts): flags over environment
 * variables over the defaults docs/security.md lists; a bad value is refused naming it.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { gatewayReach } from "../../src/cli/serve-reach.js";
import { readEnv } from "../../src/config.js";
import { isTokenForgeError } from "../../src/errors.js";
import { DEFAULT_CAPS } from "../../src/gateway/caps.js";

describe("gateway reach settings", () => {
  it("defaults: datasets under the data directory, no models directory, no targets, the default caps", () => {
    const r = gatewayReach({}, readEnv({ HOME: "/home/u" }), "/var/lib/tf");
    expect(r.callerRoots).toEqual({ datasetsDir: join("/var/lib/tf", "datasets") });
    expect(r.modelRoots).toEqual({});
    expect(r.allowTargets.entries).toEqual([]);
    expect(r.caps).toEqual(DEFAULT_CAPS);
    // An in-memory store has no directory to hold datasets.
    expect(gatewayReach({}, readEnv({ HOME: "/home/u" }), "memory://").callerRoots).toEqual({});
  });

  it("takes the environment, and flags over it", () => {
    const env = readEnv({
      TOKENFORGE_DATASETS_DIR: "/data/sets",
      TOKENFORGE_MODELS_DIR: "/data/models",
      TOKENFORGE_PROFILES_DIR: "/data/profiles",
      TOKENFORGE_ALLOW_TARGETS: "10.0.0.0/8",
      TOKENFORGE_MAX_DEPLOYMENTS: "3",
      TOKENFORGE_MAX_RUNS: "9",
    });
    const fromEnv = gatewayReach({}, env, "/x");
    expect(fromEnv.callerRoots).toEqual({ datasetsDir: "/data/sets", profilesDir: "/data/profiles" });
    expect(fromEnv.modelRoots).toEqual({ modelsDir: "/data/models" });
    expect(fromEnv.allowTargets.entries).toEqual(["10.0.0.0/8"]);
    expect(fromEnv.caps).toEqual({ ...DEFAULT_CAPS, deployments: 3, concurrentRuns: 9 });
    const fromFlags = gatewayReach(
      { datasetsDir: "/d", allowTargets: "host.test", maxDeployments: 5 },
      env,
      "/x",
    );
    expect(fromFlags.callerRoots.datasetsDir).toBe("/d");
    expect(fromFlags.allowTargets.entries).toEqual(["host.test"]);
    expect(fromFlags.caps.deployments).toBe(5);
  });

  it("refuses a bad cap or allow-list entry naming it (exit 2 from the CLI)", () => {
    for (const [env, field] of [
      [{ TOKENFORGE_MAX_REPLICAS: "0" }, "TOKENFORGE_MAX_REPLICAS"],
      [{ TOKENFORGE_MAX_WORKER_PROCESSES: "many" }, "TOKENFORGE_MAX_WORKER_PROCESSES"],
    ] as const) {
      let err: unknown;
      try {
        readEnv(env);
      } catch (e) {
        err = e;
      }
      expect(isTokenForgeError(err) && err.status < 500 && err.field).toBe(field);
    }
    expect(() => gatewayReach({ allowTargets: "10.0.0.0/99" }, readEnv({}), "/x")).toThrow("10.0.0.0/99");
  });
});
