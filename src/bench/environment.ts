/** The versions and machine a result was measured with, recorded in every result file. */
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { arch, cpus, hostname, platform, release, totalmem } from "node:os";
import { VERSION } from "../version.js";

export interface Environment {
  tokenforge: string;
  node: string;
  undici: string;
  platform: string;
  osRelease: string;
  arch: string;
  cpuModel: string;
  cpuCount: number;
  memoryBytes: number;
  hostname: string;
  /** The GPUs `nvidia-smi` names on this machine; absent where there is no such tool (CPU only). */
  gpus?: string[];
}

export function environment(): Environment {
  const require = createRequire(import.meta.url);
  let undici = "unknown";
  try {
    undici = (require("undici/package.json") as { version: string }).version;
  } catch {
    // the version stays unknown
  }
  const cpu = cpus();
  return {
    tokenforge: VERSION,
    node: process.version,
    undici,
    platform: platform(),
    osRelease: release(),
    arch: arch(),
    cpuModel: cpu[0]?.model ?? "unknown",
    cpuCount: cpu.length,
    memoryBytes: totalmem(),
    hostname: hostname(),
    ...gpuNames(),
  };
}

/** GPU names from `nvidia-smi`, so a published cost can be checked against the machine it prices. */
function gpuNames(): { gpus?: string[] } {
  try {
    const out = execFileSync("nvidia-smi", ["--query-gpu=name", "--format=csv,noheader"], {
      encoding: "utf8",
      timeout: 5000,
      stdio: ["ignore", "pipe", "ignore"],
    });
    const gpus = out
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "");
    return gpus.length > 0 ? { gpus } : {};
  } catch {
    return {};
  }
}
