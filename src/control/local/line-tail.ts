/**
 * The last lines a worker wrote, kept in a bounded ring so a chatty worker cannot grow memory;
 * they go into crash events and `lastError`.
 */
export class LineTail {
  private readonly lines: string[] = [];
  private partial = "";

  constructor(
    private readonly maxLines = 50,
    private readonly maxLineLength = 500,
    /** Called with every complete line as it arrives (a listener's error is ignored). */
    private readonly onLine?: (line: string) => void,
  ) {}

  push(chunk: string): void {
    // Progress bars redraw with \r: each redraw counts as a line, so the newest one survives.
    const parts = (this.partial + chunk).split(/\r\n|\r|\n/);
    this.partial = (parts.pop() ?? "").slice(-this.maxLineLength);
    for (const part of parts) this.add(part);
  }

  /** The newest `n` lines, oldest first (an unterminated last line included). */
  last(n: number): string[] {
    const all = this.partial.trim() === "" ? this.lines : [...this.lines, this.partial];
    return all.slice(-n);
  }

  private add(line: string): void {
    if (line.trim() === "") return;
    this.lines.push(line.length > this.maxLineLength ? `${line.slice(0, this.maxLineLength)}…` : line);
    if (this.lines.length > this.maxLines) this.lines.shift();
    try {
      this.onLine?.(line);
    } catch {
      // Watching the output must not stop reading it.
    }
  }
}
