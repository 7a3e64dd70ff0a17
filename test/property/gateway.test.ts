/**
 * Property: every request schema of the gateway (bodies, path parameters, query strings), fed
 * generated input (valid, mutated, any JSON, nested past the limit, not JSON), answers each within
 * the time limit with a success or a 4xx, never a 5xx, and a refused request changes no state:
 * deployments, runs and worker processes are counted before and after. A real gateway (PGlite, the
 * local backend) through inject(), with one sim deployment that valid inference reaches and the
 * echo fixture runtime for deploys (a plain Node process, quick to start and stop).
 * bench/fuzz.ts runs the same property at 10,000 inputs per schema.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { simRuntime } from "../../src/runtimes/sim/index.js";
import { echoRuntime } from "../fixtures/runtimes/echo/index.js";
import { SELF, startTestGateway, type TestGateway } from "../helpers/gateway.js";
import { waitFor } from "../helpers/wait-for.js";
import { checkGatewayInput, gatewayRoutes, SIM_MODEL } from "./gateway-schemas.js";

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway({ name: "property", runtimes: [simRuntime(SELF), echoRuntime()] });
  const res = await t.gateway.app.inject({
    method: "POST",
    url: "/deploy",
    payload: { model: SIM_MODEL, runtime: "sim" },
  });
  expect(res.statusCode).toBe(202);
  const id = res.json().id as string;
  await waitFor(
    async () => {
      const d = (await t.gateway.app.inject({ method: "GET", url: `/deployments/${id}` })).json();
      return d.status === "ready" ? d : undefined;
    },
    { what: "the sim deployment to be ready", timeoutMs: 60_000, intervalMs: 200 },
  );
}, 120_000);
afterAll(async () => {
  await t?.close();
});

describe("gateway: bad input never gets a 5xx and changes nothing", () => {
  it("holds for every schema", async () => {
    const statuses = new Map<number, number>();
    for (const route of gatewayRoutes()) {
      // Valid deploys start processes and valid runs send requests: fewer of those.
      const numRuns =
        route.method !== "POST" ? 20 : route.path === "/deploy" || route.path === "/benchmarks/run" ? 30 : 40;
      await fc.assert(
        fc.asyncProperty(route.inputs, async (input) => {
          const { status } = await checkGatewayInput(t, route, input, { timeoutMs: 30_000 });
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
        }),
        { numRuns, endOnFailure: true },
      );
    }
    expect(statuses.get(400) ?? 0).toBeGreaterThan(100);
    expect((statuses.get(200) ?? 0) + (statuses.get(202) ?? 0)).toBeGreaterThan(20);
    expect([...statuses.keys()].every((s) => s < 500)).toBe(true);
  });
});
