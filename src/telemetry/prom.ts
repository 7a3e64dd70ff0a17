/** prom-client metrics built from catalogue entries, into a registry the caller owns. */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { MetricSpec } from "./catalogue.js";

export function counter<L extends string>(spec: MetricSpec, registry: Registry): Counter<L> {
  return new Counter<L>({
    name: spec.name,
    help: spec.help,
    labelNames: spec.labels as L[],
    registers: [registry],
  });
}

export function histogram<L extends string>(spec: MetricSpec, registry: Registry): Histogram<L> {
  return new Histogram<L>({
    name: spec.name,
    help: spec.help,
    labelNames: spec.labels as L[],
    buckets: [...(spec.buckets ?? [])],
    registers: [registry],
  });
}

/** A gauge whose value is read when Prometheus scrapes, so it is never stale. */
export function gauge<L extends string>(
  spec: MetricSpec,
  registry: Registry,
  read?: (set: (labels: Partial<Record<L, string>>, value: number) => void) => void | Promise<void>,
): Gauge<L> {
  return new Gauge<L>({
    name: spec.name,
    help: spec.help,
    labelNames: spec.labels as L[],
    registers: [registry],
    ...(read === undefined
      ? {}
      : {
          async collect(this: Gauge<L>) {
            const values: [Partial<Record<L, string>>, number][] = [];
            await read((labels, value) => values.push([labels, value]));
            this.reset();
            for (const [labels, value] of values) this.set(labels as Record<L, string>, value);
          },
        }),
  });
}
