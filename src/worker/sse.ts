/**
 * Server-sent events on a raw response: each event is written the moment it exists (Nagle off,
 * no buffering across tokens), as the harness timestamps bytes on arrival.
 */
import type { ServerResponse } from "node:http";

export class SseWriter {
  constructor(private readonly res: ServerResponse) {}

  open(): void {
    this.res.socket?.setNoDelay(true);
    this.res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
  }

  get closed(): boolean {
    return this.res.destroyed || this.res.writableEnded;
  }

  send(payload: unknown): void {
    if (!this.closed) this.res.write(`data: ${JSON.stringify(payload)}\n\n`);
  }

  done(): void {
    if (!this.closed) this.res.end("data: [DONE]\n\n");
  }
}
