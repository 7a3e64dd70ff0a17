/**
 * The names of llama.cpp's builds, apart from the code that loads them, so that the CLI can parse
 * and list them without loading node-llama-cpp (see `binary.ts`).
 */
export const LLAMA_BINARIES = ["auto", "prebuilt", "native"] as const;
export type LlamaBinary = (typeof LLAMA_BINARIES)[number];

/**
 * The custom CMake options of the build for this CPU, which `tokenforge llamacpp build` passes and
 * the engine asks for: node-llama-cpp keys its local builds by their custom options.
 */
export const NATIVE_CMAKE_OPTIONS: Readonly<Record<string, string>> = { GGML_NATIVE: "ON" };
