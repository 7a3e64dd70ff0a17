/**
 * How the server's token usage compares with what was planned and requested: the token mismatch
 * counts, and from them whether the output lengths came out as requested.
 */
import type { OutputLengths, TokenMismatch } from "./metric-types.js";
import type { RequestTrace } from "./types.js";

export function emptyMismatch(): TokenMismatch {
  return {
    compared: 0,
    promptVsPlanned: 0,
    completionVsRequested: 0,
    completionVsChunks: 0,
    plannedPromptTokens: 0,
    serverPromptTokens: 0,
    requestedCompletionTokens: 0,
    serverCompletionTokens: 0,
  };
}

/** Counts one non-warmup request that came back with usage. */
export function countMismatch(
  m: TokenMismatch,
  t: RequestTrace,
  usage: NonNullable<RequestTrace["usage"]>,
): void {
  m.compared++;
  m.plannedPromptTokens += t.promptTokens;
  m.serverPromptTokens += usage.promptTokens;
  m.requestedCompletionTokens += t.maxTokens;
  m.serverCompletionTokens += usage.completionTokens;
  if (usage.promptTokens !== t.promptTokens) m.promptVsPlanned++;
  if (usage.completionTokens !== t.maxTokens) m.completionVsRequested++;
  if (t.chunkTokens === undefined && t.chunkMs.length !== usage.completionTokens) m.completionVsChunks++;
}

/** Whether output lengths were exact; undefined when no request came back with usage. */
export function outputLengths(m: TokenMismatch, ignoreEosSent: boolean): OutputLengths | undefined {
  if (m.compared === 0) return undefined;
  return {
    exact: ignoreEosSent && m.completionVsRequested === 0,
    ignoreEosSent,
    compared: m.compared,
    differ: m.completionVsRequested,
    requestedTokens: m.requestedCompletionTokens,
    generatedTokens: m.serverCompletionTokens,
  };
}
