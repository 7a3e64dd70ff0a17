/**
 * Runtimes by name. The composition root builds the registry and hands it down; nothing registers
 * itself on import.
 */
import { TokenForgeError } from "../errors.js";
import type { RuntimeDefinition } from "../spec/runtime.js";

export class RuntimeRegistry {
  private readonly byName = new Map<string, RuntimeDefinition>();

  constructor(runtimes: readonly RuntimeDefinition[]) {
    for (const r of runtimes) {
      if (this.byName.has(r.name)) throw new Error(`runtime ${r.name} registered twice`);
      this.byName.set(r.name, r);
    }
  }

  names(): string[] {
    return [...this.byName.keys()];
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
}
