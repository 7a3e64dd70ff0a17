/** The run's store writes: in order, retried through failures, refused content skipped. */
import { describe, expect, it } from "vitest";
import { TokenForgeError } from "../../src/errors.js";
import { WriteQueue } from "../../src/gateway/write-queue.js";

describe("WriteQueue", () => {
  it("keeps order and retries a failing write until it lands, the later ones waiting", async () => {
    const landed: string[] = [];
    let failuresLeft = 3;
    const retried: string[] = [];
    const q = new WriteQueue({
      initialDelayMs: 1,
      onError: (what, _e, retry) => retry && retried.push(what),
    });
    q.push("a", async () => {
      landed.push("a");
    });
    q.push("b", async () => {
      if (failuresLeft-- > 0) throw new TokenForgeError("io_error", "connection lost");
      landed.push("b");
    });
    q.push("c", async () => {
      landed.push("c");
    });
    expect(q.size).toBe(3);
    await q.flush();
    expect(landed).toEqual(["a", "b", "c"]);
    expect(retried).toEqual(["b", "b", "b"]);
    expect(q.size).toBe(0);
  });

  it("skips a write refused for its content and goes on", async () => {
    const landed: string[] = [];
    const refused: string[] = [];
    const q = new WriteQueue({
      initialDelayMs: 1,
      onError: (what, _e, retry) => !retry && refused.push(what),
    });
    q.push("bad", async () => {
      throw new TokenForgeError("invalid_request", "status: not one of …", { field: "status" });
    });
    q.push("good", async () => {
      landed.push("good");
    });
    await q.flush();
    expect(refused).toEqual(["bad"]);
    expect(landed).toEqual(["good"]);
  });

  it("gives up retrying once closed", async () => {
    const q = new WriteQueue({ initialDelayMs: 1 });
    let attempts = 0;
    q.push("down", async () => {
      attempts++;
      if (attempts === 2) q.close();
      throw new Error("ECONNREFUSED");
    });
    await q.flush();
    expect(attempts).toBe(2);
  });
});
