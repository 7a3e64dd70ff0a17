/**
 * llama.cpp's own `llama-server`, built once from the llama.cpp source node-llama-cpp ships in its
 * npm package (`llama/gitRelease.bundle`: the same release the worker runs) into a cache directory
 * outside the repository: ~/.cache/tokenforge/llama-server/<commit>/build/bin/llama-server.
 * CPU only, static, tuned for this machine (GGML_NATIVE).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dirname, "..", "..");
const BUNDLE = join(ROOT, "node_modules", "node-llama-cpp", "llama", "gitRelease.bundle");
const RELEASE_INFO = join(ROOT, "node_modules", "node-llama-cpp", "llama", "binariesGithubRelease.json");

export interface LlamaServerBuild {
  binary: string;
  /** The bundle's commit (node-llama-cpp squashes llama.cpp's history into one). */
  commit: string;
  /** node-llama-cpp's name for the release ("v0.5.0"). */
  release: string;
}

/** Why the build cannot run here (a missing tool), or undefined when it can. */
function missingTool(): string | undefined {
  for (const tool of ["git", "cmake", "c++", "cc"]) {
    if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) {
      return `${tool} is not installed (apt-get install git cmake build-essential)`;
    }
  }
  if (!existsSync(BUNDLE)) return `node-llama-cpp's llama.cpp source is missing (${BUNDLE})`;
  return undefined;
}

function run(cmd: string, args: string[], cwd: string, log: (line: string) => void): void {
  log(`$ ${cmd} ${args.join(" ")}`);
  const r = spawnSync(cmd, args, { cwd, stdio: ["ignore", "ignore", "pipe"], maxBuffer: 64 * 2 ** 20 });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr?.toString().slice(-2000)}`);
  }
}

/**
 * The llama-server binary, building it first when the cache has none (a few minutes). Resolves to
 * a reason string instead when a tool it needs is missing.
 */
export function ensureLlamaServer(log: (line: string) => void): LlamaServerBuild | string {
  const missing = missingTool();
  if (missing !== undefined) return missing;
  const commit = execFileSync("git", ["ls-remote", BUNDLE, "HEAD"], { encoding: "utf8" }).split(/\s/)[0]!;
  const release = (JSON.parse(readFileSync(RELEASE_INFO, "utf8")) as { release: string }).release;
  const dir = join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "tokenforge", "llama-server");
  const src = join(dir, commit.slice(0, 12));
  const binary = join(src, "build", "bin", "llama-server");
  if (existsSync(binary)) return { binary, commit, release };
  mkdirSync(dir, { recursive: true });
  if (!existsSync(join(src, "CMakeLists.txt"))) run("git", ["clone", "--quiet", BUNDLE, src], dir, log);
  run(
    "cmake",
    [
      "-B",
      "build",
      "-DCMAKE_BUILD_TYPE=Release",
      "-DGGML_NATIVE=ON",
      "-DBUILD_SHARED_LIBS=OFF",
      // HTTPS for downloading models: not needed to serve a local file.
      "-DLLAMA_OPENSSL=OFF",
      "-DLLAMA_BUILD_TESTS=OFF",
      "-DLLAMA_BUILD_EXAMPLES=OFF",
    ],
    src,
    log,
  );
  run("cmake", ["--build", "build", "--target", "llama-server", "-j", "2"], src, log);
  if (!existsSync(binary)) throw new Error(`the build finished without ${binary}`);
  return { binary, commit, release };
}

/**
 * Whether this CPU has AMX: llama.cpp built with GGML_NATIVE then repacks Q8_0 weights for AMX,
 * which crashed with SIGILL on such a machine; `--no-repack` avoids it.
 */
export function cpuHasAmx(): boolean {
  try {
    return /\bamx_int8\b/.test(readFileSync("/proc/cpuinfo", "utf8"));
  } catch {
    return false;
  }
}
