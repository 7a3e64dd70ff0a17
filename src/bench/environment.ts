/** The versions and machine a result was measured with, recorded in every result file. */
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
  };
}
