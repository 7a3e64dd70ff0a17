import { describe, expect, it } from "vitest";
import { StopMatcher } from "../../src/runtimes/stop-matcher.js";

function run(stops: string[], pieces: string[]): { out: string; stopped: boolean } {
  const m = new StopMatcher(stops);
  let out = "";
  for (const p of pieces) {
    const r = m.push(p);
    out += r.emit;
    if (r.stopped) return { out, stopped: true };
  }
  return { out: out + m.flush(), stopped: false };
}

describe("StopMatcher", () => {
  it("passes text through when there are no stop strings", () => {
    expect(run([], ["a", "b"])).toEqual({ out: "ab", stopped: false });
  });
  it("finds a stop string split across pieces and drops it", () => {
    expect(run(["END"], ["hello E", "N", "D and more"])).toEqual({ out: "hello ", stopped: true });
  });
  it("releases held text that turned out not to be a stop string", () => {
    expect(run(["END"], ["hello E", "Nx"])).toEqual({ out: "hello ENx", stopped: false });
  });
  it("cuts at the earliest of several stop strings", () => {
    expect(run(["zz", "b"], ["a", "bzz"])).toEqual({ out: "a", stopped: true });
  });
  it("holds back no more than it must", () => {
    const m = new StopMatcher(["STOP"]);
    expect(m.push("abcST").emit).toBe("abc");
    expect(m.push("x").emit).toBe("STx");
  });
});
