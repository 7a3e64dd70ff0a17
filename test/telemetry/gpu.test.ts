/**
 * GPU sampling. No GPU runs here: a stand-in `nvidia-smi` (a script printing output recorded in
 * nvidia-smi's CSV format) takes its place; without any, the series must be absent, not zero.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { GpuSampler, parseNvidiaSmi } from "../../src/telemetry/gpu.js";
import { WorkerMetrics } from "../../src/worker/metrics.js";

const H100 =
  "0, NVIDIA H100 80GB HBM3, 1024, 81559, 37, 312.45\n1, NVIDIA H100 80GB HBM3, 0, 81559, 0, [N/A]\n";
const dir = mkdtempSync(join(tmpdir(), "tokenforge-gpu-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function standIn(output: string): string {
  const path = join(dir, `nvidia-smi-${Math.random().toString(36).slice(2)}`);
  writeFileSync(path, `#!/bin/sh\ncat <<'EOF'\n${output}EOF\n`);
  chmodSync(path, 0o755);
  return path;
}

describe("parseNvidiaSmi", () => {
  it("reads memory in MiB as bytes, utilisation as a ratio, and leaves [N/A] out", () => {
    expect(parseNvidiaSmi(H100)).toEqual([
      {
        index: 0,
        name: "NVIDIA H100 80GB HBM3",
        memoryUsedBytes: 1024 * 2 ** 20,
        memoryTotalBytes: 81559 * 2 ** 20,
        utilization: 0.37,
        powerWatts: 312.45,
      },
      {
        index: 1,
        name: "NVIDIA H100 80GB HBM3",
        memoryUsedBytes: 0,
        memoryTotalBytes: 81559 * 2 ** 20,
        utilization: 0,
      },
    ]);
  });

  it("refuses output of another shape", () => {
    expect(() => parseNvidiaSmi("No devices were found\n")).toThrow(/unexpected nvidia-smi line/);
  });
});

describe("GPU series", () => {
  it("are exposed per GPU from nvidia-smi", async () => {
    const metrics = new WorkerMetrics(() => undefined, new GpuSampler(standIn(H100)));
    const text = await metrics.registry.metrics();
    expect(text).toContain(
      'tokenforge_gpu_memory_used_bytes{gpu="0",name="NVIDIA H100 80GB HBM3"} 1073741824',
    );
    expect(text).toContain('tokenforge_gpu_utilization_ratio{gpu="0",name="NVIDIA H100 80GB HBM3"} 0.37');
    expect(text).toContain('tokenforge_gpu_power_watts{gpu="0",name="NVIDIA H100 80GB HBM3"} 312.45');
    expect(text).not.toContain('tokenforge_gpu_power_watts{gpu="1"');
    expect(text).toContain('tokenforge_gpu_memory_total_bytes{gpu="1",name="NVIDIA H100 80GB HBM3"}');
  });

  it("are absent, not zero, without nvidia-smi or when it fails", async () => {
    for (const sampler of [new GpuSampler(join(dir, "no-such-tool")), new GpuSampler(standIn("garbage\n"))]) {
      const text = await new WorkerMetrics(() => undefined, sampler).registry.metrics();
      expect(text).toContain("# TYPE tokenforge_gpu_memory_used_bytes gauge");
      expect(text).not.toMatch(/^tokenforge_gpu_/m);
    }
  });
});
