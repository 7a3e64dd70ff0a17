/** A deployment's events, newest last, bounded so a crash loop cannot grow memory without end. */
import type { DeploymentEvent } from "../../spec/deployment.js";

export const MAX_EVENTS = 100;

export class EventLog {
  private readonly events: DeploymentEvent[] = [];

  constructor(private readonly max = MAX_EVENTS) {}

  add(event: DeploymentEvent): void {
    this.events.push(event);
    if (this.events.length > this.max) this.events.splice(0, this.events.length - this.max);
  }

  list(): DeploymentEvent[] {
    return this.events.map((e) => ({ ...e }));
  }
}
