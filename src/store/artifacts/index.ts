/** Opens the artifact store a config names: a local directory, or an S3-compatible bucket. */
import { S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import type { ArtifactStore } from "../../spec/store.js";
import type { ArtifactConfig } from "./config.js";
import { FsArtifactStore } from "./fs-store.js";
import { S3ArtifactStore, type UploadedArtifact } from "./s3-store.js";

export { type ArtifactConfig, artifactConfigFromEnv } from "./config.js";
export { FsArtifactStore } from "./fs-store.js";
export { gunzipFile, gzipFile, putFile } from "./gzip.js";
export { checkArtifactPath, contentTypeFor } from "./names.js";
export type { PendingEntry } from "./pending-index.js";
export { startRetryLoop } from "./retry-loop.js";
export { S3ArtifactStore, type S3ArtifactStoreOptions, type UploadedArtifact } from "./s3-store.js";

/** An artifact store that releases what it holds (the S3 client's sockets) on close. */
export type OpenedArtifactStore = ArtifactStore & {
  readonly kind: ArtifactConfig["kind"];
  close(): Promise<void>;
};

export interface OpenArtifactStoreOptions {
  /** See S3ArtifactStoreOptions.onUploaded. */
  onUploaded?: (artifact: UploadedArtifact) => void | Promise<void>;
  /** See S3ArtifactStoreOptions.timeoutMs. */
  timeoutMs?: number;
}

export function openArtifactStore(
  config: ArtifactConfig,
  opts: OpenArtifactStoreOptions = {},
): OpenedArtifactStore {
  switch (config.kind) {
    case "fs":
      return Object.assign(new FsArtifactStore(config.dir), { kind: "fs" as const });
    case "s3": {
      const client = new S3Client(s3ClientConfig(config));
      const store = new S3ArtifactStore({
        client,
        bucket: config.bucket,
        ...(config.prefix === undefined ? {} : { prefix: config.prefix }),
        spoolDir: config.spoolDir,
        ownsClient: true,
        ...opts,
      });
      return Object.assign(store, { kind: "s3" as const });
    }
    default:
      return config satisfies never;
  }
}

/** The S3Client settings for a config (exported for tools that talk to the same bucket). */
export function s3ClientConfig(config: Extract<ArtifactConfig, { kind: "s3" }>): S3ClientConfig {
  return {
    region: config.region,
    forcePathStyle: config.forcePathStyle,
    ...(config.endpoint === undefined
      ? {}
      : {
          endpoint: config.endpoint,
          // S3-compatible servers lag behind AWS's newer checksum headers: send and check
          // checksums only where the operation requires them.
          requestChecksumCalculation: "WHEN_REQUIRED" as const,
          responseChecksumValidation: "WHEN_REQUIRED" as const,
        }),
    ...(config.accessKeyId === undefined || config.secretAccessKey === undefined
      ? {}
      : {
          credentials: {
            accessKeyId: config.accessKeyId,
            secretAccessKey: config.secretAccessKey,
            ...(config.sessionToken === undefined ? {} : { sessionToken: config.sessionToken }),
          },
        }),
    // Without these an unreachable endpoint could hold a put forever instead of failing it.
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 60_000 },
  };
}
