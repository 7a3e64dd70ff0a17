/**
 * Runtimes by name. The composition root builds the registry and hands it down; nothing registers
 * itself on import. The control plane and the harness reach every engine through it: its launch,
 * its container, its health contract and its native metrics.
 */
import { TokenForgeError } from "../errors.js";
import type {
  HealthContract,
  NativeMetrics,
  NativeSeries,
  RuntimeDefinition,
  ServerQuantity,
} from "../spec/runtime.js";
import { WORKER_HEALTH } from "./worker-protocol.js";

/** The seam version this registry reads. */
const SPEC_VERSION = "v1";

/** Every runtime's native series merged, the preferred ones first (see `RuntimeRegistry.metricSeries`). */
export interface SeriesCatalogue {
  /** The exposition's path (the preferred runtime's, else "/metrics"). */
  path: string;
  series: Partial<Record<ServerQuantity, NativeSeries[]>>;
  supersedes: Record<string, string>;
}

export class RuntimeRegistry {
  private readonly byName = new Map<string, RuntimeDefinition>();

  constructor(runtimes: readonly RuntimeDefinition[]) {
    for (const r of runtimes) {
      if (r.specificationVersion !== SPEC_VERSION) {
        throw new Error(
          `runtime ${r.name} implements runtime spec ${String(r.specificationVersion)}; this TokenForge reads ${SPEC_VERSION}`,
        );
      }
      if (this.byName.has(r.name)) throw new Error(`runtime ${r.name} registered twice`);
      this.byName.set(r.name, r);
    }
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  /** The runtimes with a Kubernetes container. */
  containerNames(): string[] {
    return [...this.byName.values()].filter((r) => r.container !== undefined).map((r) => r.name);
  }

  get(name: string, field = "runtime"): RuntimeDefinition {
    const runtime = this.byName.get(name);
    if (!runtime) {
      throw new TokenForgeError(
        "invalid_request",
        `unknown runtime "${name}"; known: ${this.names().join(", ")}`,
        {
          field,
        },
      );
    }
    return runtime;
  }

  /** How runtime `name`'s `/health` reads; a server under a name not registered is read by the worker protocol. */
  health(name: string): HealthContract {
    return this.byName.get(name)?.health ?? WORKER_HEALTH;
  }

  /**
   * The native series the harness looks for on a target: those of runtime `first` (when it is
   * registered) before every other runtime's, so a server attached under any name is still read.
   */
  metricSeries(first?: string): SeriesCatalogue {
    const ordered = [...this.byName.values()];
    const head = first === undefined ? -1 : ordered.findIndex((r) => r.name === first);
    if (head > 0) ordered.unshift(...ordered.splice(head, 1));
    return mergeSeries(ordered.flatMap((r) => (r.metrics ? [r.metrics] : [])));
  }
}

function mergeSeries(all: readonly NativeMetrics[]): SeriesCatalogue {
  const out: SeriesCatalogue = { path: all[0]?.path ?? "/metrics", series: {}, supersedes: {} };
  for (const m of all) {
    for (const [key, list] of Object.entries(m.series) as [ServerQuantity, readonly NativeSeries[]][]) {
      const merged = out.series[key] ?? [];
      for (const s of list) if (!merged.some((x) => x.name === s.name)) merged.push(s);
      out.series[key] = merged;
    }
    Object.assign(out.supersedes, m.supersedes);
  }
  return out;
}
