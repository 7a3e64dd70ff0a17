/**
 * GPU memory, utilisation and power, sampled through `nvidia-smi` when a GPU is present. On a
 * machine without one (or without the tool) a sample is absent, never zeros: the gauges then have
 * no series at all. Samples are cached briefly so frequent scrapes do not spawn a process each.
 */
import { execFile } from "node:child_process";

export interface GpuSample {
  index: number;
  name: string;
  memoryUsedBytes: number;
  memoryTotalBytes: number;
  /** 0..1; absent when the driver reports "[N/A]". */
  utilization?: number;
  /** Watts; absent when the driver reports "[N/A]" (some MIG and consumer configurations). */
  powerWatts?: number;
}

export const NVIDIA_SMI_QUERY = [
  "--query-gpu=index,name,memory.used,memory.total,utilization.gpu,power.draw",
  "--format=csv,noheader,nounits",
];

const MIB = 1024 * 1024;

/** Parses `nvidia-smi --query-gpu=… --format=csv,noheader,nounits` (memory in MiB). */
export function parseNvidiaSmi(csv: string): GpuSample[] {
  const out: GpuSample[] = [];
  for (const line of csv.split("\n")) {
    if (line.trim() === "") continue;
    const f = line.split(",").map((x) => x.trim());
    if (f.length < 6) throw new Error(`unexpected nvidia-smi line: ${line}`);
    const num = (s: string) => (/^\[.*\]$/.test(s) || s === "" ? undefined : Number(s));
    const index = num(f[0]!);
    const used = num(f[2]!);
    const total = num(f[3]!);
    if (
      index === undefined ||
      used === undefined ||
      total === undefined ||
      [index, used, total].some(Number.isNaN)
    ) {
      throw new Error(`unexpected nvidia-smi line: ${line}`);
    }
    const util = num(f[4]!);
    const power = num(f[5]!);
    out.push({
      index,
      name: f[1]!,
      memoryUsedBytes: used * MIB,
      memoryTotalBytes: total * MIB,
      ...(util === undefined || Number.isNaN(util) ? {} : { utilization: util / 100 }),
      ...(power === undefined || Number.isNaN(power) ? {} : { powerWatts: power }),
    });
  }
  return out;
}

export class GpuSampler {
  private cached: { at: number; value: GpuSample[] | undefined } | undefined;
  private missing = false;

  constructor(
    private readonly command = "nvidia-smi",
    private readonly maxAgeMs = 1000,
  ) {}

  /** The GPUs now, or undefined when there are none to ask about. */
  async sample(): Promise<GpuSample[] | undefined> {
    if (this.missing) return undefined;
    const now = performance.now();
    if (this.cached && now - this.cached.at < this.maxAgeMs) return this.cached.value;
    const value = await new Promise<GpuSample[] | undefined>((resolve) => {
      execFile(this.command, NVIDIA_SMI_QUERY, { timeout: 5000 }, (err, stdout) => {
        if (err) {
          // No tool means no GPU to report, for good; a failed call is just this sample.
          if ((err as NodeJS.ErrnoException).code === "ENOENT") this.missing = true;
          resolve(undefined);
          return;
        }
        try {
          const gpus = parseNvidiaSmi(stdout);
          resolve(gpus.length > 0 ? gpus : undefined);
        } catch {
          resolve(undefined);
        }
      });
    });
    this.cached = { at: now, value };
    return value;
  }
}
