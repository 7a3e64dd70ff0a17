/**
 * Turns generated tokens into text as they arrive. A byte-level BPE token can end in the middle
 * of a UTF-8 character; such text is held until the character completes (at most `maxHeld`
 * tokens, after which it is emitted as it is, so a model that emits broken bytes cannot stall a
 * stream).
 */
import type { LlamaModel, Token } from "node-llama-cpp";

const REPLACEMENT = "\uFFFD";

export class IncrementalDetokenizer {
  private pending: Token[] = [];
  private previous: Token[] = [];

  constructor(
    private readonly model: LlamaModel,
    private readonly maxHeld = 4,
  ) {}

  /** Adds one token; returns the text it completes ("" when held back or a special token). */
  push(token: Token): string {
    this.pending.push(token);
    const text = this.model.detokenize(this.pending, false, this.previous);
    if (text.endsWith(REPLACEMENT) && this.pending.length < this.maxHeld) return "";
    this.previous = this.previous.concat(this.pending).slice(-8);
    this.pending = [];
    return text;
  }

  /** Text of tokens still held back. */
  flush(): string {
    if (this.pending.length === 0) return "";
    const text = this.model.detokenize(this.pending, false, this.previous);
    this.pending = [];
    return text;
  }

  /** How many pushed tokens have not been emitted as text yet. */
  get held(): number {
    return this.pending.length;
  }
}
