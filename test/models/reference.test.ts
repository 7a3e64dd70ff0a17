import { describe, expect, it } from "vitest";
import { TokenForgeError } from "../../src/errors.js";
import { parseModelRef } from "../../src/models/reference.js";

function refError(ref: string): TokenForgeError {
  try {
    parseModelRef(ref);
  } catch (err) {
    expect(err).toBeInstanceOf(TokenForgeError);
    return err as TokenForgeError;
  }
  throw new Error(`"${ref}" parsed`);
}

describe("parseModelRef", () => {
  it("fills defaults for synthetic references", () => {
    expect(parseModelRef("synthetic:tiny")).toEqual({
      kind: "synthetic",
      ref: "synthetic:tiny",
      preset: "tiny",
      quant: "q8_0",
      seed: 0,
      contextLength: 2048,
    });
    expect(parseModelRef("synthetic:llama-3.1-8b")).toMatchObject({ contextLength: 131072 });
  });

  it("reads quant, seed and ctx options", () => {
    expect(parseModelRef("synthetic:tiny?quant=q4_0&seed=7&ctx=4096")).toMatchObject({
      preset: "tiny",
      quant: "q4_0",
      seed: 7,
      contextLength: 4096,
    });
    expect(parseModelRef("synthetic:qwen2.5-0.5b?quant=F16")).toMatchObject({ quant: "f16" });
  });

  it("treats anything else as a path, resolved against cwd", () => {
    expect(parseModelRef("models/m.gguf", "/data")).toEqual({
      kind: "file",
      ref: "models/m.gguf",
      path: "/data/models/m.gguf",
    });
    expect(parseModelRef("/abs/m.gguf")).toMatchObject({ kind: "file", path: "/abs/m.gguf" });
  });

  it.each([
    [
      "synthetic:huge",
      /unknown synthetic preset "huge".*tiny, llama-100m, qwen2.5-0.5b, llama-3.2-1b, llama-3.1-8b/,
    ],
    ["synthetic:", /unknown synthetic preset ""/],
    ["synthetic:tiny?quant=q5_k", /unknown quant "q5_k".*f32, f16, q8_0, q4_0/],
    ["synthetic:tiny?seed=-1", /seed="-1".*integer from 0 to 4294967295/],
    ["synthetic:tiny?seed=1.5", /seed="1.5"/],
    ["synthetic:tiny?seed=4294967296", /seed=/],
    ["synthetic:tiny?ctx=0", /ctx="0".*integer from 1/],
    ["synthetic:tiny?ctx=abc", /ctx="abc"/],
    ["synthetic:tiny?context=4096", /unknown option "context".*quant, seed, ctx/],
    ["synthetic:tiny?seed=1&seed=2", /"seed" given twice/],
    ["", /empty/],
  ])("rejects %j", (ref, message) => {
    const err = refError(ref);
    expect(err.code).toBe("invalid_model_ref");
    expect(err.field).toBe("model");
    expect(err.status).toBe(400);
    expect(err.message).toMatch(message);
  });
});
