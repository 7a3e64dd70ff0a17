/**
 * The deployment-backend conformance suite (src/spec/deployment.ts, seam 3): the same contract
 * checked against every backend. Each test gets a fresh target; a target says what it cannot do
 * as a capability set to the reason, and the test is then skipped with that reason in its name.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isTokenForgeError, type TokenForgeError } from "../../src/errors.js";
import type { DeploymentBackend, DeploymentSpec, DeploymentStatus } from "../../src/spec/deployment.js";
import { waitFor } from "../helpers/wait-for.js";

export interface BackendTarget {
  backend: DeploymentBackend;
  /** A spec this backend accepts (a runtime it knows, its own target), less the id. */
  base: Omit<DeploymentSpec, "id">;
  /** Brings a created deployment to ready (waits for it, or plays the rollout) and returns its status. */
  makeReady(id: string): Promise<DeploymentStatus>;
  /** What the backend has done outside this process so far (processes started, API requests sent). */
  actions(): string[];
  /** What exists now outside the backend's memory (live processes, API objects), sorted. */
  remains(): Promise<string[]>;
  /** Releases what the target holds beyond the backend (servers, directories). */
  close(): Promise<void>;
}

/** `true` when a backend can be checked for it; a string says why it cannot. */
export interface BackendCapabilities {
  /** A ready deployment's endpoints answer `GET /health` 200 from this process. */
  reachableEndpoints: true | string;
}

async function rejection(p: Promise<unknown>): Promise<TokenForgeError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isTokenForgeError(err)) throw new Error(`expected a TokenForgeError, got ${String(err)}`);
  return err;
}

/** Why a capability is missing, or undefined when it is there. */
const reason = (cap: true | string): string | undefined => (cap === true ? undefined : cap);

/** A test's name with the reason it is skipped, when it is. */
const named = (title: string, cap: true | string): string =>
  cap === true ? title : `${title} (skipped: ${cap})`;

export function defineBackendConformance(
  name: string,
  capabilities: BackendCapabilities,
  start: () => Promise<BackendTarget>,
): void {
  describe(`deployment backend conformance: ${name}`, () => {
    let t: BackendTarget;
    beforeEach(async () => {
      t = await start();
    });
    afterEach(async () => {
      await t?.backend.close();
      await t?.close();
    });

    const spec = (id: string, overrides: Partial<DeploymentSpec> = {}): DeploymentSpec => ({
      ...t.base,
      id,
      ...overrides,
    });

    /** Waits until nothing the backend made is left, naming what is when time runs out. */
    const nothingLeft = async () => {
      let left: string[] = [];
      await waitFor(
        async () => {
          left = await t.remains();
          return left.length === 0;
        },
        { what: "nothing left outside the backend", timeoutMs: 5000, detail: () => left.join(", ") },
      );
    };

    it("create answers at once with pending or starting, a created event and no endpoints yet", async () => {
      const s = await t.backend.create(spec("first"));
      expect(s.id).toBe("first");
      expect(["pending", "starting"]).toContain(s.state);
      expect(s.events[0]?.kind).toBe("created");
      for (const e of s.events) expect(new Date(e.at).toISOString()).toBe(e.at);
      expect(s.endpoints).toEqual([]);
      expect(s.lastError).toBeUndefined();
    });

    it("get and list show what was created; an unknown id is undefined", async () => {
      await t.backend.create(spec("a"));
      await t.backend.create(spec("b", { replicas: 2 }));
      expect((await t.backend.get("a"))?.id).toBe("a");
      expect((await t.backend.get("b"))?.id).toBe("b");
      expect((await t.backend.list()).map((s) => s.id).sort()).toEqual(["a", "b"]);
      expect(await t.backend.get("never-was")).toBeUndefined();
    });

    it("a ready deployment has one ready replica per replica asked for and endpoints to route to", async () => {
      await t.backend.create(spec("ready", { replicas: 2 }));
      await t.makeReady("ready");
      const s = (await t.backend.get("ready"))!;
      expect(s.state).toBe("ready");
      expect(s.replicas).toHaveLength(2);
      for (const r of s.replicas) expect(r).toMatchObject({ state: "ready", restarts: 0 });
      expect(s.endpoints.length).toBeGreaterThan(0);
      for (const e of s.endpoints) expect(new URL(e).protocol).toBe("http:");
      expect(s.events.map((e) => e.kind)).toEqual(expect.arrayContaining(["created", "ready"]));
      expect(s.lastError).toBeUndefined();
      expect((await t.backend.list()).map((d) => [d.id, d.state])).toEqual([["ready", "ready"]]);
    });

    it.skipIf(reason(capabilities.reachableEndpoints))(
      named("a ready deployment's endpoints answer /health", capabilities.reachableEndpoints),
      async () => {
        await t.backend.create(spec("serving", { replicas: 2 }));
        const s = await t.makeReady("serving");
        for (const e of s.endpoints) expect((await fetch(`${e}/health`)).status).toBe(200);
      },
    );

    it("delete removes everything; a second delete is not_found naming the id, and the id is free again", async () => {
      await t.backend.create(spec("gone", { replicas: 2 }));
      await t.makeReady("gone");
      expect(await t.remains()).not.toEqual([]);
      await t.backend.delete("gone");
      expect(await t.backend.get("gone")).toBeUndefined();
      expect(await t.backend.list()).toEqual([]);
      await nothingLeft();

      const again = await rejection(t.backend.delete("gone"));
      expect(again.code).toBe("not_found");
      expect(again.status).toBe(404);
      expect(again.message).toContain('"gone"');
      expect((await rejection(t.backend.delete("never-was"))).code).toBe("not_found");

      expect((await t.backend.create(spec("gone"))).id).toBe("gone");
      expect((await t.makeReady("gone")).state).toBe("ready");
    });

    it("close stops every deployment: nothing is left and nothing is listed", async () => {
      await t.backend.create(spec("one", { replicas: 2 }));
      await t.backend.create(spec("two"));
      await t.makeReady("one");
      await t.backend.close();
      expect(await t.backend.list()).toEqual([]);
      await nothingLeft();
    });

    it("refuses invalid specs with invalid_request naming the field, and does nothing", async () => {
      const cases: [Partial<DeploymentSpec>, string][] = [
        [{ id: "" }, "id"],
        [{ runtime: "nope" }, "runtime"],
        [{ replicas: -1 }, "replicas"],
        [{ replicas: 1.5 }, "replicas"],
      ];
      for (const [overrides, field] of cases) {
        const err = await rejection(t.backend.create(spec("bad", overrides)));
        expect(err.code, JSON.stringify(overrides)).toBe("invalid_request");
        expect(err.field, JSON.stringify(overrides)).toBe(field);
        expect(err.status).toBe(400);
      }
      expect(t.actions()).toEqual([]);
      expect(await t.backend.list()).toEqual([]);
      expect(await t.remains()).toEqual([]);
    });

    it("refuses a spec for another backend's target, naming the field, and does nothing", async () => {
      const other = t.backend.target === "local" ? "kubernetes" : "local";
      const err = await rejection(t.backend.create(spec("elsewhere", { target: other })));
      expect(err.code).toBe("invalid_request");
      expect(err.field).toBe("target");
      expect(t.actions()).toEqual([]);
      expect(await t.backend.list()).toEqual([]);
    });

    it("refuses a second deployment with the same id, naming the id, and leaves the first as it was", async () => {
      await t.backend.create(spec("dup"));
      await t.makeReady("dup");
      const before = await t.remains();
      const err = await rejection(t.backend.create(spec("dup", { replicas: 3 })));
      expect(err.code).toBe("invalid_request");
      expect(err.field).toBe("id");
      expect(err.message).toContain('"dup" already exists');
      expect(await t.remains()).toEqual(before);
      expect((await t.backend.list()).map((d) => d.id)).toEqual(["dup"]);
      const s = (await t.backend.get("dup"))!;
      expect(s.state).toBe("ready");
      expect(s.replicas).toHaveLength(1);
    });
  });
}
