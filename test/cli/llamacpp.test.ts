/**
 * `tokenforge llamacpp`: which llama.cpp build a worker loads (`info`, the real executable loading
 * node-llama-cpp), the build command it runs, what it says when a tool is missing, and the
 * `--llama-binary` / TOKENFORGE_LLAMA_BINARY choice refused when unknown. Whether a build for this
 * CPU exists depends on the machine (`tokenforge llamacpp build` makes one; CI has none), so the
 * `native` case is checked against what `auto` found.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildCommand, missingBuildTools, packageDir } from "../../src/cli/llamacpp.js";
import { readEnv } from "../../src/config.js";
import { runCli } from "../helpers/cli.js";

const dir = mkdtempSync(join(tmpdir(), "tokenforge-llamacpp-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Info {
  binary: string;
  release: string;
  gpu: string | false;
}

describe("llamacpp info", () => {
  it("says which build loads, and --llama-binary native fails with the way to make one when there is none", async () => {
    const auto = await runCli(["llamacpp", "info"]);
    expect(auto.code).toBe(0);
    const a = JSON.parse(auto.stdout) as Info;
    expect(["native", "prebuilt"]).toContain(a.binary);
    expect(a.release).toMatch(/^v\d/);
    expect(a.gpu).toBe(false);

    const prebuilt = JSON.parse(
      (await runCli(["llamacpp", "info", "--llama-binary", "prebuilt"])).stdout,
    ) as Info;
    expect(prebuilt.binary).not.toBe("native");

    const native = await runCli(["llamacpp", "info", "--llama-binary", "native"]);
    if (a.binary === "native") {
      expect(native.code).toBe(0);
      expect((JSON.parse(native.stdout) as Info).binary).toBe("native");
    } else {
      expect(native.code).toBe(2);
      expect(native.stderr).toContain("llama_binary: no llama.cpp build for this CPU is installed");
      expect(native.stderr).toContain("tokenforge llamacpp build");
    }
  }, 120_000);

  it("refuses an unknown build by flag (exit 2, naming the choices) and by environment", async () => {
    const r = await runCli(["llamacpp", "info", "--llama-binary", "fastest"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("auto, prebuilt, native");
    const w = await runCli(["worker", "--llama-binary", "fastest"]);
    expect(w.code).toBe(2);
    expect(() => readEnv({ TOKENFORGE_LLAMA_BINARY: "fastest" })).toThrow(
      /TOKENFORGE_LLAMA_BINARY must be one of/,
    );
    expect(readEnv({}).llamaBinary).toBe("auto");
    expect(readEnv({ TOKENFORGE_LLAMA_BINARY: "prebuilt" }).llamaBinary).toBe("prebuilt");
  }, 60_000);
});

describe("llamacpp build", () => {
  it("asks node-llama-cpp for a GGML_NATIVE build of its bundled source: download first, build once unpacked", () => {
    const pkg = join(dir, "node-llama-cpp");
    mkdirSync(join(pkg, "llama"), { recursive: true });
    const first = buildCommand(pkg);
    expect(first.args.slice(1)).toEqual(["source", "download", "--gpu", "false", "--noUsageExample"]);
    expect(first.args[0]).toBe(join(pkg, "dist", "cli", "cli.js"));
    expect(first.env).toEqual({ NODE_LLAMA_CPP_CMAKE_OPTION_GGML_NATIVE: "ON" });
    mkdirSync(join(pkg, "llama", "llama.cpp"));
    writeFileSync(join(pkg, "llama", "llama.cpp", "CMakeLists.txt"), "");
    expect(buildCommand(pkg).args[2]).toBe("build");
  });

  it("finds node-llama-cpp's package and the CLI it runs", () => {
    const dir = packageDir();
    expect(existsSync(join(dir, "llama", "gitRelease.bundle"))).toBe(true);
    expect(existsSync(buildCommand(dir).args[0]!)).toBe(true);
  });

  it("refuses to start a build on a machine without the tools (exit 1, naming them)", async () => {
    // Only Node's own directory on PATH: no cmake, make or compiler to be found.
    const r = await runCli(["llamacpp", "build"], { PATH: dirname(process.execPath) });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("error: cannot build llama.cpp here: cmake, make, a C++ compiler not found");
    expect(r.stdout).toBe("");
  }, 60_000);

  it("names every missing tool and how to install them", () => {
    expect(missingBuildTools(() => true)).toBeUndefined();
    expect(missingBuildTools((t) => t !== "cmake")).toBe(
      "cmake not found (Debian/Ubuntu: apt-get install cmake build-essential)",
    );
    expect(missingBuildTools(() => false)).toBe(
      "cmake, make, a C++ compiler not found (Debian/Ubuntu: apt-get install cmake build-essential)",
    );
    expect(missingBuildTools((t) => t === "cmake" || t === "make" || t === "clang++")).toBeUndefined();
  });
});
