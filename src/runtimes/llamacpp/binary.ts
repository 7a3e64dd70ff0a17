/**
 * Which build of llama.cpp the engine runs. node-llama-cpp ships prebuilt binaries (for x64 CPUs,
 * one library per CPU family, the best one picked at load), and can also compile the release it
 * bundles on the machine itself. The two run the same llama.cpp code but not the same machine
 * code: on the AVX-512 machine TokenForge is measured on, the prebuilt F16 matrix kernel stores
 * its 16 accumulators to the stack on every step of its inner loop, where the same source compiled
 * here keeps them in registers, and decoding 8 sequences took about 1.6 times as long
 * (BENCHMARKS.md, "The worker beside llama-server"). A build for this CPU is what llama.cpp's own
 * server is when built from source, so it is the one compared with it.
 *
 * The build for this CPU is node-llama-cpp's own "local build" made with `GGML_NATIVE=ON` given as
 * a custom CMake option: node-llama-cpp keys local builds by their custom options, so asking for
 * that option loads this build when it exists and the prebuilt binary when it does not, and a
 * local build someone made without the option is never mistaken for it.
 */
import { getLlama, type Llama, LlamaLogLevel } from "node-llama-cpp";
import { TokenForgeError } from "../../errors.js";
import { type LlamaBinary, NATIVE_CMAKE_OPTIONS } from "./binary-choice.js";

/** How the loaded binary is described in the engine's info. */
export type LoadedBinary = "native" | "prebuilt" | "local";

/**
 * Loads llama.cpp. `auto`: the build for this CPU when `tokenforge llamacpp build` has made one,
 * else the prebuilt binary (on a GPU machine, the prebuilt GPU binary comes first); `native`:
 * that build, which is CPU only, or an error saying how to make it; `prebuilt`: node-llama-cpp's
 * default choice.
 */
export async function loadLlama(
  gpu: "auto" | false,
  binary: LlamaBinary,
): Promise<{ llama: Llama; binary: LoadedBinary }> {
  const llama = await getLlama({
    gpu: binary === "native" ? false : gpu,
    build: "never",
    usePrebuiltBinaries: true,
    progressLogs: false,
    skipDownload: true,
    logLevel: LlamaLogLevel.error,
    ...(binary === "prebuilt" ? {} : { cmakeOptions: { ...NATIVE_CMAKE_OPTIONS } }),
  });
  const local = llama.buildType === "localBuild";
  if (binary === "native" && !local) {
    await llama.dispose();
    throw new TokenForgeError(
      "invalid_request",
      "no llama.cpp build for this CPU is installed: run `tokenforge llamacpp build` (needs cmake and a C++ compiler), or use --llama-binary auto",
      { field: "llama_binary" },
    );
  }
  return { llama, binary: !local ? "prebuilt" : binary === "prebuilt" ? "local" : "native" };
}
