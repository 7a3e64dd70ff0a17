/** The TokenForge worker hosting llama.cpp (synthetic:tiny) against the worker-protocol suite. */
import { resolveModel } from "../../src/models/resolve.js";
import { llamaCppRuntime } from "../../src/runtimes/llamacpp/index.js";
import { startWorker } from "../../src/worker/server.js";
import { startTestWorker, TEST_CACHE_DIR } from "../helpers/worker.js";
import { defineConformance, healthRunning } from "./suite.js";

defineConformance("llamacpp", async () => {
  // Room for the disconnect test's 1,000-token request beside four short ones.
  const worker = await startTestWorker({ parallel: 4, contextLength: 2048 });
  return {
    url: worker.url,
    model: "synthetic:tiny",
    close: () => worker.close(),
    capabilities: {
      tokenize: true,
      checksModel: true,
      runningRequests: healthRunning,
      healthWhileLoading: async () => {
        let release!: () => void;
        const gate = new Promise<void>((r) => {
          release = r;
        });
        const loading = await startWorker({
          runtime: llamaCppRuntime({ command: process.execPath, args: [] }),
          resolveModel: async () => {
            await gate;
            return resolveModel("synthetic:tiny", { cacheDir: TEST_CACHE_DIR });
          },
          engine: { parallel: 1, contextLength: 256, threads: 1, batchSize: undefined, gpu: false },
          host: "127.0.0.1",
          port: 0,
        });
        return {
          url: loading.url,
          release: async () => {
            release();
            await loading.loaded;
          },
          close: () => loading.close(),
        };
      },
    },
  };
});
