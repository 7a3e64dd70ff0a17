/**
 * Property: every request schema of the worker, fed generated bodies (valid, mutated, any JSON,
 * nested past the limit, not JSON), answers each within the time limit with a success or a 4xx,
 * never a 5xx, and a refused request changes nothing in the engine. A real worker: llama.cpp on
 * the synthetic tiny model, over HTTP. bench/fuzz.ts runs the same property at
 * 10,000 inputs per schema.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningWorker } from "../../src/worker/server.js";
import { startTestWorker } from "../helpers/worker.js";
import { checkWorkerInput, workerRoutes } from "./worker-schemas.js";

let worker: RunningWorker;
beforeAll(async () => {
  worker = await startTestWorker({ parallel: 2, contextLength: 256 });
});
afterAll(async () => {
  await worker?.close();
});

describe("worker: bad input never gets a 5xx", () => {
  it("holds for every schema", async () => {
    const routes = workerRoutes(worker.holder.engine!.info.model);
    const statuses = new Map<number, number>();
    for (const route of routes) {
      await fc.assert(
        fc.asyncProperty(route.inputs, async (input) => {
          const { status } = await checkWorkerInput(worker.url, route, input, {
            timeoutMs: 20_000,
            checkState: true,
          });
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
        }),
        { numRuns: 100, endOnFailure: true },
      );
    }
    // Both kinds of answer were exercised: the generators reach successes and refusals.
    expect(statuses.get(200) ?? 0).toBeGreaterThan(20);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(100);
    expect([...statuses.keys()].every((s) => s < 500)).toBe(true);
  });
});
