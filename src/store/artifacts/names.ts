/**
 * What a run id and an artifact name may be. Both become path segments on disk and parts of an
 * object key, so they are checked before anything touches either: a run id is one segment, a
 * name is one segment or a folder and a file (`vllm/chat.vllm.json`), and every segment is made of
 * letters, digits, "_", "." and "-", at most 255 characters, never "." or "..". A run id may not
 * start with "." (the stores keep their own files there, e.g. the spool's `.pending.json`).
 */
import { TokenForgeError } from "../../errors.js";

const SEGMENT = /^[A-Za-z0-9_.-]{1,255}$/;
const RULE = 'letters, digits, "_", "." and "-" (at most 255), not "." or ".."';

function segmentOk(s: string): boolean {
  return SEGMENT.test(s) && s !== "." && s !== "..";
}

/** Throws invalid_request naming `runId` or `name` unless both are safe as paths and keys. */
export function checkArtifactPath(runId: string, name: string): void {
  if (typeof runId !== "string" || !segmentOk(runId) || runId.startsWith(".")) {
    throw new TokenForgeError(
      "invalid_request",
      `run id ${JSON.stringify(runId)} is not allowed: one path segment of ${RULE}, not starting with "."`,
      { field: "runId" },
    );
  }
  const parts = typeof name === "string" ? name.split("/") : [];
  if (parts.length < 1 || parts.length > 2 || !parts.every(segmentOk)) {
    throw new TokenForgeError(
      "invalid_request",
      `artifact name ${JSON.stringify(name)} is not allowed: a file or "folder/file", each part of ${RULE}`,
      { field: "name" },
    );
  }
}

/** The content type a file name suggests (the type of the content before any `.gz`). */
export function contentTypeFor(name: string): string {
  const base = name.endsWith(".gz") ? name.slice(0, -3) : name;
  const ext = base.slice(base.lastIndexOf(".") + 1).toLowerCase();
  switch (ext) {
    case "json":
      return "application/json";
    case "jsonl":
    case "ndjson":
      return "application/x-ndjson";
    case "html":
      return "text/html; charset=utf-8";
    case "csv":
      return "text/csv";
    case "txt":
    case "log":
      return "text/plain; charset=utf-8";
    default:
      return "application/octet-stream";
  }
}
