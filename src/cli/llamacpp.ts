/**
 * `tokenforge llamacpp build` and `tokenforge llamacpp info`: compiling the llama.cpp release that
 * node-llama-cpp bundles for this machine's CPU, and saying which build a worker loads. The build
 * is node-llama-cpp's own (`node-llama-cpp source download|build`), from the source in its npm
 * package (no download), with `GGML_NATIVE=ON` as the custom CMake option the engine asks for
 * (`src/runtimes/llamacpp/binary.ts` says why a build for the CPU at hand is faster).
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import type { TokenForgeEnv } from "../config.js";
import {
  LLAMA_BINARIES,
  type LlamaBinary,
  NATIVE_CMAKE_OPTIONS,
} from "../runtimes/llamacpp/binary-choice.js";
import { oneOf } from "./parse.js";

/**
 * node-llama-cpp's package directory: the nearest directory above its entry point whose
 * package.json names it (its `exports` do not expose package.json itself).
 */
export function packageDir(): string {
  let dir = dirname(fileURLToPath(import.meta.resolve("node-llama-cpp")));
  for (;;) {
    const manifest = join(dir, "package.json");
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name === "node-llama-cpp"
    ) {
      return dir;
    }
    const up = dirname(dir);
    if (up === dir) throw new Error("node-llama-cpp's package directory was not found");
    dir = up;
  }
}

/** What the build needs that this machine lacks, or undefined. */
export function missingBuildTools(has: (tool: string) => boolean = onPath): string | undefined {
  const missing = ["cmake", "make"].filter((t) => !has(t));
  if (!has("c++") && !has("g++") && !has("clang++")) missing.push("a C++ compiler");
  if (missing.length === 0) return undefined;
  return `${missing.join(", ")} not found (Debian/Ubuntu: apt-get install cmake build-essential)`;
}

function onPath(tool: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" }).status === 0;
}

/**
 * The node-llama-cpp command that builds for this CPU: `source build` once its llama.cpp source is
 * unpacked, `source download` (from the git bundle in its package) before that.
 */
export function buildCommand(dir: string): { args: string[]; env: Record<string, string> } {
  const cloned = existsSync(join(dir, "llama", "llama.cpp", "CMakeLists.txt"));
  const env = Object.fromEntries(
    Object.entries(NATIVE_CMAKE_OPTIONS).map(([k, v]) => [`NODE_LLAMA_CPP_CMAKE_OPTION_${k}`, v]),
  );
  return {
    args: [
      join(dir, "dist", "cli", "cli.js"),
      "source",
      cloned ? "build" : "download",
      "--gpu",
      "false",
      "--noUsageExample",
    ],
    env,
  };
}

export function registerLlamaCppCommand(program: Command, env: TokenForgeEnv): void {
  const cmd = program
    .command("llamacpp")
    .description("the llama.cpp build the worker runs: build one for this CPU, or see which one loads");

  cmd
    .command("build")
    .description(
      "compile node-llama-cpp's bundled llama.cpp for this CPU (GGML_NATIVE; a few minutes per core, no download)",
    )
    .action(async () => {
      const missing = missingBuildTools();
      if (missing !== undefined) {
        process.stderr.write(`error: cannot build llama.cpp here: ${missing}\n`);
        process.exitCode = 1;
        return;
      }
      const dir = packageDir();
      const { args, env: buildEnv } = buildCommand(dir);
      process.stderr.write(`building llama.cpp for this CPU with node-llama-cpp (${dir})\n`);
      const started = performance.now();
      const code = await new Promise<number>((resolve) => {
        const child = spawn(process.execPath, args, {
          stdio: ["ignore", "inherit", "inherit"],
          env: { ...process.env, ...buildEnv },
        });
        child.on("error", () => resolve(1));
        child.on("exit", (c) => resolve(c ?? 1));
      });
      if (code !== 0) {
        process.stderr.write(
          `error: the build failed (exit ${code}); the worker keeps the prebuilt binary\n`,
        );
        process.exitCode = 1;
        return;
      }
      process.stderr.write(
        `built in ${((performance.now() - started) / 1000).toFixed(0)} s; workers load it by default (--llama-binary auto)\n`,
      );
    });

  cmd
    .command("info")
    .description("which llama.cpp build a worker would load, and its release")
    .option("--llama-binary <which>", "as the worker's flag", oneOf(LLAMA_BINARIES), env.llamaBinary)
    .option("--gpu <mode>", "as the worker's flag", oneOf(["auto", "off"] as const), "off")
    .action(async (flags: { llamaBinary: LlamaBinary; gpu: "auto" | "off" }) => {
      const { loadLlama } = await import("../runtimes/llamacpp/binary.js");
      const { llama, binary } = await loadLlama(flags.gpu === "off" ? false : "auto", flags.llamaBinary);
      try {
        process.stdout.write(
          `${JSON.stringify(
            {
              binary,
              release: llama.llamaCppRelease.release,
              gpu: llama.gpu,
              cpuMathCores: llama.cpuMathCores,
            },
            null,
            2,
          )}\n`,
        );
      } finally {
        await llama.dispose();
      }
    });
}
