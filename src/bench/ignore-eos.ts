/**
 * Servers that refuse `ignore_eos`. Every planned request asks for it, because it is what makes
 * output lengths exact; OpenAI's own API answers an argument it does not know with 400
 * ("Unrecognized request argument supplied: ignore_eos"). Such a target is sent the same plan
 * without it, and its results say that output lengths are the server's choice (the aggregate's
 * `outputLengths`, and a warning). A server that takes `ignore_eos` silently and does not honour
 * it is caught by the same field, from the token counts it reports.
 */
import type { FirstRequestCheck } from "./first-request.js";
import type { Plan } from "./plan.js";

/** The member as plan.ts writes it; a prompt's own text is JSON-escaped and cannot contain it. */
const MEMBER = ',"ignore_eos":true';

/** True when the check was refused for naming `ignore_eos` (a 400 or 422 whose message names it). */
export function refusesIgnoreEos(check: FirstRequestCheck): boolean {
  return (check.status === 400 || check.status === 422) && /\bignore_eos\b/.test(check.error ?? "");
}

/** The same plan, every body without `ignore_eos`. */
export function withoutIgnoreEos(plan: Plan): Plan {
  const request: Plan["request"] = (index, warmup) => {
    const r = plan.request(index, warmup);
    return { ...r, body: r.body.replace(MEMBER, "") };
  };
  return { ...plan, request, body: (index, warmup) => request(index, warmup).body };
}
