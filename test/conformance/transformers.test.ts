/**
 * The Hugging Face Transformers worker (Python) against the worker-protocol suite, on
 * synthetic:tiny (random weights from the preset's shape, byte tokenizer). It runs wherever
 * `python3 -c "import torch, transformers"` works; elsewhere it is skipped with the reason printed.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { describe, it } from "vitest";
import { freePort } from "../../src/control/local/free-port.js";
import { transformersRuntime } from "../../src/runtimes/transformers/index.js";
import { waitFor } from "../helpers/wait-for.js";
import { defineConformance, healthRunning } from "./suite.js";

const python = process.env.TOKENFORGE_PYTHON ?? "python3";
const probe = spawnSync(python, ["-c", "import torch, transformers"], { encoding: "utf8", timeout: 60_000 });
const reason =
  probe.status === 0
    ? undefined
    : `${python} cannot import torch and transformers (${probe.error?.message ?? (probe.stderr.trim().split("\n").pop() || `exit ${probe.status}`)})`;

if (reason === undefined) {
  defineConformance("transformers", async () => {
    const port = await freePort();
    const spec = transformersRuntime({ python }).localProcess({
      model: "synthetic:tiny",
      port,
      host: "127.0.0.1",
      extraArgs: ["--device", "cpu"],
    });
    const child: ChildProcess = spawn(spec.command, spec.args, {
      stdio: "ignore",
      env: { ...process.env, ...spec.env },
    });
    const url = `http://127.0.0.1:${port}`;
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`the Transformers worker exited ${child.exitCode}`);
        return fetch(`${url}/health`).then(
          (r) => r.status === 200,
          () => false,
        );
      },
      { what: "the Transformers worker to answer /health 200", timeoutMs: 300_000, intervalMs: 500 },
    );
    return {
      url,
      model: "synthetic:tiny",
      close: async () => {
        child.kill("SIGTERM");
      },
      capabilities: {
        tokenize: true,
        checksModel: true,
        runningRequests: healthRunning,
        healthWhileLoading: "checked by test/runtimes/transformers.test.ts (503 while the model loads)",
      },
    };
  });
} else {
  console.info(`[conformance transformers] skipped: ${reason}`);
  describe.skip(`worker protocol conformance: transformers — skipped: ${reason}`, () => {
    it("runs the shared suite", () => {});
  });
}
