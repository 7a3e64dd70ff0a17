/**
 * Where artifacts go, from the environment. `src/config.ts` is where every variable is read; it
 * calls this with its environment, and nothing here reads `process.env` itself.
 *
 * - TOKENFORGE_S3_BUCKET set → S3 (TOKENFORGE_S3_ENDPOINT for MinIO and other S3-compatible
 *   stores, absent for AWS; TOKENFORGE_S3_REGION, default us-east-1; TOKENFORGE_S3_PREFIX;
 *   AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY [+ AWS_SESSION_TOKEN], else the SDK's default
 *   credential chain; TOKENFORGE_S3_FORCE_PATH_STYLE, default true; TOKENFORGE_S3_SPOOL_DIR).
 * - otherwise a local directory: TOKENFORGE_ARTIFACTS_DIR.
 * Default directories live under TOKENFORGE_HOME (default `$XDG_CACHE_HOME/tokenforge`).
 */
import { homedir } from "node:os";
import { join } from "node:path";
import { TokenForgeError } from "../../errors.js";

export type ArtifactConfig =
  | {
      kind: "fs";
      /** Artifacts go to `<dir>/<runId>/<name>`. */
      dir: string;
    }
  | {
      kind: "s3";
      bucket: string;
      /** Absent for AWS itself; e.g. `http://127.0.0.1:9000` for MinIO. */
      endpoint?: string;
      region: string;
      /** Key prefix; objects are `<prefix>/<runId>/<name>`. */
      prefix?: string;
      /** Both or neither; neither uses the SDK's default credential chain. */
      accessKeyId?: string;
      secretAccessKey?: string;
      sessionToken?: string;
      /** `http://host/bucket/key` rather than `http://bucket.host/key` (MinIO needs it). */
      forcePathStyle: boolean;
      /** Local copies waiting for upload. */
      spoolDir: string;
    };

/** Reads the artifact store settings; every bad variable is named in one invalid_request error. */
export function artifactConfigFromEnv(env: NodeJS.ProcessEnv): ArtifactConfig {
  const home = env.TOKENFORGE_HOME || join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "tokenforge");
  const value = (name: string) => {
    const v = env[name]?.trim();
    return v === undefined || v === "" ? undefined : v;
  };
  const problems: { field: string; message: string }[] = [];
  const bucket = value("TOKENFORGE_S3_BUCKET");
  const endpoint = value("TOKENFORGE_S3_ENDPOINT");
  if (bucket === undefined) {
    if (endpoint !== undefined) {
      problems.push({
        field: "TOKENFORGE_S3_BUCKET",
        message: "TOKENFORGE_S3_ENDPOINT is set but TOKENFORGE_S3_BUCKET is not: name the bucket",
      });
    } else {
      return { kind: "fs", dir: value("TOKENFORGE_ARTIFACTS_DIR") ?? join(home, "artifacts") };
    }
  }
  if (endpoint !== undefined && !/^https?:\/\/[^/]+/.test(endpoint)) {
    problems.push({
      field: "TOKENFORGE_S3_ENDPOINT",
      message: `TOKENFORGE_S3_ENDPOINT must be an http:// or https:// URL, got "${endpoint}"`,
    });
  }
  const pathStyle = value("TOKENFORGE_S3_FORCE_PATH_STYLE")?.toLowerCase() ?? "true";
  const forcePathStyle = ["true", "1", "yes"].includes(pathStyle);
  if (!forcePathStyle && !["false", "0", "no"].includes(pathStyle)) {
    problems.push({
      field: "TOKENFORGE_S3_FORCE_PATH_STYLE",
      message: `TOKENFORGE_S3_FORCE_PATH_STYLE must be true or false, got "${env.TOKENFORGE_S3_FORCE_PATH_STYLE}"`,
    });
  }
  const accessKeyId = value("AWS_ACCESS_KEY_ID");
  const secretAccessKey = value("AWS_SECRET_ACCESS_KEY");
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    const missing = accessKeyId === undefined ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY";
    problems.push({
      field: missing,
      message: `${missing} is missing: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY together (or neither)`,
    });
  }
  if (problems.length > 0) {
    throw new TokenForgeError("invalid_request", problems.map((p) => p.message).join("; "), {
      field: problems[0]!.field,
    });
  }
  const prefix = value("TOKENFORGE_S3_PREFIX");
  const sessionToken = value("AWS_SESSION_TOKEN");
  return {
    kind: "s3",
    bucket: bucket!,
    ...(endpoint === undefined ? {} : { endpoint }),
    region: value("TOKENFORGE_S3_REGION") ?? "us-east-1",
    ...(prefix === undefined ? {} : { prefix }),
    ...(accessKeyId === undefined || secretAccessKey === undefined ? {} : { accessKeyId, secretAccessKey }),
    ...(sessionToken === undefined || accessKeyId === undefined ? {} : { sessionToken }),
    forcePathStyle,
    spoolDir: value("TOKENFORGE_S3_SPOOL_DIR") ?? join(home, "artifact-spool"),
  };
}
