import { describe, expect, it } from "vitest";
import { Slots } from "../../src/runtimes/slots.js";

describe("Slots", () => {
  it("hands out slots up to capacity and queues the rest in order", async () => {
    const slots = new Slots(2);
    const never = new AbortController().signal;
    const a = await slots.acquire(never);
    await slots.acquire(never);
    const order: string[] = [];
    const track = (name: string) => (release: () => void) => {
      order.push(name);
      return release;
    };
    const c = slots.acquire(never).then(track("c"));
    const d = slots.acquire(never).then(track("d"));
    expect(slots.running).toBe(2);
    expect(slots.waiting).toBe(2);
    a();
    a(); // a second release of the same slot does nothing
    await c;
    expect(order).toEqual(["c"]);
    expect(slots.waiting).toBe(1);
    (await c)();
    await d;
    expect(order).toEqual(["c", "d"]);
  });

  it("removes an aborted waiter without giving it a slot", async () => {
    const slots = new Slots(1);
    const release = await slots.acquire(new AbortController().signal);
    const ac = new AbortController();
    const waiting = slots.acquire(ac.signal);
    ac.abort(new Error("gone"));
    await expect(waiting).rejects.toThrow("gone");
    expect(slots.waiting).toBe(0);
    release();
    expect(slots.running).toBe(0);
  });
});
