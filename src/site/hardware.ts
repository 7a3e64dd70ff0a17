/**
 * Whether a cost profile prices the machine a run was measured on. A profile may name the
 * hardware it prices (`hardware: {gpu, gpus, cpu}`); a run records its CPUs and the GPUs
 * `nvidia-smi` named. Pricing a 2-vCPU run at H100 rates is a figure about nothing, so publishing
 * refuses it unless forced, and the page then says so beside the figure.
 */
import type { PricedHardwareFile } from "../bench/config-schema.js";

/** The machine a run recorded, as the site keeps it. */
export interface RunMachine {
  cpuModel: string;
  cpuCount: number;
  /** GPU names; empty when the run recorded none. */
  gpus: string[];
}

const has = (name: string, part: string) => name.toLowerCase().includes(part.toLowerCase());

function described(m: RunMachine): string {
  const gpus = m.gpus.length === 0 ? "no GPU" : `${m.gpus.length} × ${m.gpus[0]}`;
  return `${m.cpuCount} × ${m.cpuModel} with ${gpus}`;
}

/**
 * Why `machine` is not the hardware the profile prices, or undefined when it is (or when either
 * side says nothing to compare: a profile without `hardware`, an entry published before machines
 * were recorded).
 */
export function hardwareMismatch(
  hardware: PricedHardwareFile | undefined,
  machine: RunMachine | undefined,
): string | undefined {
  if (hardware === undefined || machine === undefined) return undefined;
  const problems: string[] = [];
  if (hardware.gpu !== undefined && !machine.gpus.some((g) => has(g, hardware.gpu!))) {
    problems.push(`the profile prices ${hardware.gpu} GPUs`);
  }
  if (hardware.gpus !== undefined && machine.gpus.length !== hardware.gpus) {
    problems.push(`the profile prices ${hardware.gpus} GPU${hardware.gpus === 1 ? "" : "s"}`);
  }
  if (hardware.cpu !== undefined && !has(machine.cpuModel, hardware.cpu)) {
    problems.push(`the profile prices a ${hardware.cpu} CPU`);
  }
  return problems.length === 0
    ? undefined
    : `${problems.join(" and ")}; the run was measured on ${described(machine)}`;
}
