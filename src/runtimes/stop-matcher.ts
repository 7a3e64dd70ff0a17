/**
 * Finds OpenAI `stop` strings in streamed text. Text that could be the start of a stop string is
 * held back until the next piece shows whether it is, so a stop string split across tokens is
 * still caught and never sent to the client.
 */
export class StopMatcher {
  private held = "";
  private readonly longest: number;

  constructor(private readonly stops: readonly string[]) {
    this.longest = stops.reduce((m, s) => Math.max(m, s.length), 0);
  }

  /** Feeds new text; returns what can be emitted now and whether a stop string was reached. */
  push(text: string): { emit: string; stopped: boolean } {
    if (this.stops.length === 0) return { emit: text, stopped: false };
    const buf = this.held + text;
    let cut = -1;
    for (const s of this.stops) {
      const i = buf.indexOf(s);
      if (i >= 0 && (cut < 0 || i < cut)) cut = i;
    }
    if (cut >= 0) {
      this.held = "";
      return { emit: buf.slice(0, cut), stopped: true };
    }
    // Hold back the longest suffix that is a prefix of some stop string.
    let keep = 0;
    for (let n = Math.min(this.longest - 1, buf.length); n > 0; n--) {
      const tail = buf.slice(buf.length - n);
      if (this.stops.some((s) => s.startsWith(tail))) {
        keep = n;
        break;
      }
    }
    this.held = buf.slice(buf.length - keep);
    return { emit: buf.slice(0, buf.length - keep), stopped: false };
  }

  /** Text still held back when generation ends for another reason. */
  flush(): string {
    const rest = this.held;
    this.held = "";
    return rest;
  }
}
