/**
 * How the llama.cpp engine fills each decode call: which sequences go into it, in what order and
 * how many tokens each, and when a decoding sequence may queue its next token so that every one of
 * them lands in the same call.
 */
import type { BatchItem, EvaluationPriority, PrioritizedBatchItem } from "node-llama-cpp";

/**
 * The sequence an item belongs to. node-llama-cpp does not say, so each sequence evaluates with its
 * id + 1 as `evaluationPriority`, which nothing but the prioritization strategy reads.
 */
export const sequenceKey = (sequenceId: number): EvaluationPriority => (sequenceId + 1) as EvaluationPriority;

/**
 * What one decode call processes: an equal share of the batch for every sequence with work, then
 * what is left to the sequences with more, in sequence order. The items go to llama.cpp in
 * ascending sequence id. With a KV cache per sequence (how node-llama-cpp creates a context)
 * llama.cpp splits a batch into one compute pass for each run of consecutive sequence ids
 * (`split_equal`), and every pass reads all the weights once; node-llama-cpp adds the items in the
 * order their sequences queued them, so a step of 8 sequences could cost up to 8 passes.
 */
export function shareBatch(items: readonly BatchItem[], size: number): PrioritizedBatchItem[] {
  const ordered = [...items].sort((a, b) => a.evaluationPriority - b.evaluationPriority);
  const share = Math.max(1, Math.floor(size / Math.max(1, ordered.length)));
  let left = size;
  const out = ordered.map((item) => {
    const processAmount = Math.min(item.tokens.length, share, left);
    left -= processAmount;
    return { item, processAmount };
  });
  for (const p of out) {
    if (left === 0) break;
    const more = Math.min(p.item.tokens.length - p.processAmount, left);
    p.processAmount += more;
    left -= more;
  }
  return out.filter((p) => p.processAmount > 0);
}

/**
 * Keeps every decoding sequence in the same decode step. node-llama-cpp decodes in a loop: after a
 * step it samples each sequence's token (each on its own thread-pool job, finishing at different
 * times), hands each token back to its generation, and goes straight on to the next step with
 * whatever has been queued by then. A generation queues its next token as soon as it has handled
 * its last one, so those whose sampling finished first queued before the last one had its token:
 * with 8 streams most steps carried 7, and each step then cost two compute passes instead of one
 * (`shareBatch`). Here a generation that has handled its token waits for its turn: the turn comes,
 * on the next event-loop turn, once no other decoding sequence is still waiting for its token, and
 * then all of them queue together. node-llama-cpp's loop has found nothing queued by then, so it
 * ends, and the step goes at its next dispatch with every sequence in it. A sequence still
 * processing its prompt is not waited for: it joins the step after its first token.
 */
export class Stepper {
  /** Decoding sequences (past their prompt) whose next token is not back yet. */
  private inFlight = 0;
  private waiting: (() => void)[] = [];
  private releaseScheduled = false;
  /** Decode calls so far by how many sequences each carried. */
  readonly steps = new Map<number, number>();

  /** Called by node-llama-cpp before each decode call with every sequence that has work queued. */
  readonly strategy = ({
    items,
    size,
  }: {
    items: readonly BatchItem[];
    size: number;
  }): PrioritizedBatchItem[] => {
    const batch = shareBatch(items, size);
    this.steps.set(batch.length, (this.steps.get(batch.length) ?? 0) + 1);
    return batch;
  };

  /** Resolves when the sequence may queue its next token. */
  turn(): Promise<void> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.releaseWhenStepDone();
    });
  }

  /** A decoding sequence has queued its next token. */
  departed(): void {
    this.inFlight++;
  }

  /** Its token is back (or its evaluation ended). */
  arrived(): void {
    this.inFlight--;
    this.releaseWhenStepDone();
  }

  private releaseWhenStepDone(): void {
    if (this.releaseScheduled || this.inFlight > 0 || this.waiting.length === 0) return;
    this.releaseScheduled = true;
    setImmediate(() => {
      this.releaseScheduled = false;
      const released = this.waiting;
      this.waiting = [];
      for (const resolve of released) resolve();
    });
  }
}
