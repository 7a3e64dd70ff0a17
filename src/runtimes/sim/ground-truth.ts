/**
 * The simulated server's ground truth: one record per generation request of when it wrote what,
 * kept up to a limit (later records are dropped and counted). The records the harness's TTFT and
 * ITL measurements are checked against.
 */

/**
 * What the server did for one generation request. Every time is `performance.now()` in the
 * server's process: compare intervals, never absolute times across processes.
 */
export interface GroundTruth {
  /** The request id: the `x-request-id` header if sent, else a generated one (echoed back). */
  id: string;
  /** When Node had parsed the request line and headers (the body arrives in the same packet). */
  receivedMs: number;
  /** Right after the first content chunk's write (streams only). */
  firstTokenMs?: number;
  /** Right after each content chunk's write, one entry per chunk (empty when not streamed). */
  tokenMs: number[];
  /** Right after the response ended (or when the client went away). */
  endMs: number;
  promptTokens: number;
  /** Tokens actually generated (written), before any usage skew. */
  completionTokens: number;
  status: number;
  /** The client disconnected before the response ended. */
  aborted?: boolean;
}

export class GroundTruthLog {
  private records: GroundTruth[] = [];
  private droppedCount = 0;

  constructor(private readonly limit: number) {}

  record(gt: GroundTruth): void {
    if (this.records.length < this.limit) this.records.push(gt);
    else this.droppedCount++;
  }

  /** The records kept, in the order they were appended (the log's own array: not to be changed). */
  get kept(): readonly GroundTruth[] {
    return this.records;
  }

  /** Records dropped past the limit since the last clear. */
  get dropped(): number {
    return this.droppedCount;
  }

  clear(): void {
    this.records = [];
    this.droppedCount = 0;
  }
}
