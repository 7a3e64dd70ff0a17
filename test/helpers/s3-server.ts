/**
 * A real S3-protocol server for tests: s3rver (the maintained @20minutes fork), run in this
 * process on a free port of 127.0.0.1 with its data in a temporary directory. It checks SigV4
 * signatures and keeps objects on disk, so `stop()` then `start()` on the same port is a bucket
 * that went away and came back with its contents.
 */

import { mkdtemp, readFile, rm } from "node:fs/promises";
import type { Server } from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";

interface S3rverInstance {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
  httpServer?: Server;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance;

// s3rver is CommonJS without type declarations.
const S3rver = createRequire(import.meta.url)("@20minutes/s3rver") as S3rverClass;

/** s3rver's one built-in account. */
export const S3_ACCESS_KEY = "S3RVER";
export const S3_SECRET_KEY = "S3RVER";
export const S3_REGION = "us-east-1";

export interface S3Request {
  method: string;
  /** The Host header, e.g. "127.0.0.1:41234" (a virtual-hosted request would put the bucket here). */
  host: string;
  url: string;
}

export interface S3TestServer {
  readonly endpoint: string;
  readonly port: number;
  /** s3rver's data directory. */
  readonly dir: string;
  /** Every request the server received, in order. */
  readonly requests: S3Request[];
  /** The variables `artifactConfigFromEnv` reads, pointing at this server. */
  env(bucket: string, extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  /** A client for this server (path-style, its credentials), for checks independent of the store. */
  client(): S3Client;
  /** Creates a bucket through the S3 API. */
  createBucket(name: string): Promise<void>;
  /** The bytes of an object as s3rver keeps them on disk, or undefined. */
  storedObject(bucket: string, key: string): Promise<Buffer | undefined>;
  /** Stops listening (requests are refused); the data stays. */
  stop(): Promise<void>;
  /** Listens again on the same port with the same data. */
  start(): Promise<void>;
  /** Stops and removes the data directory. */
  close(): Promise<void>;
}

export async function startS3Server(): Promise<S3TestServer> {
  const dir = await mkdtemp(join(tmpdir(), "tokenforge-s3-"));
  const requests: S3Request[] = [];
  let current: S3rverInstance | undefined;
  let port = 0;
  const clients: S3Client[] = [];

  const listen = async () => {
    const server = new S3rver({
      address: "127.0.0.1",
      port,
      silent: true,
      directory: dir,
      resetOnClose: false,
      // Only path-style requests reach a bucket: a virtual-hosted one would not find it.
      vhostBuckets: false,
    });
    const addr = await server.run();
    port = addr.port;
    server.httpServer?.on("request", (req) => {
      requests.push({ method: req.method ?? "", host: req.headers.host ?? "", url: req.url ?? "" });
    });
    current = server;
  };
  const stop = async () => {
    const server = current;
    current = undefined;
    if (server === undefined) return;
    // The SDK keeps connections alive; close them so the port is really shut now.
    server.httpServer?.closeAllConnections();
    await server.close();
  };

  await listen();
  const endpoint = `http://127.0.0.1:${port}`;
  function makeClient(): S3Client {
    const client = new S3Client({
      endpoint,
      region: S3_REGION,
      forcePathStyle: true,
      credentials: { accessKeyId: S3_ACCESS_KEY, secretAccessKey: S3_SECRET_KEY },
    });
    // The SDK signs bucket-level requests as "/bucket/" while s3rver canonicalizes them as
    // "/bucket", so its signature check fails; send them without the trailing slash (object
    // requests, all the artifact stores make, are signed the same way by both).
    client.middlewareStack.add(
      (next) => (args) => {
        const req = args.request as { path?: string };
        if (typeof req.path === "string" && /^\/[^/]+\/$/.test(req.path)) req.path = req.path.slice(0, -1);
        return next(args);
      },
      { step: "build", name: "s3rverBucketPath" },
    );
    clients.push(client);
    return client;
  }

  return {
    endpoint,
    get port() {
      return port;
    },
    dir,
    requests,
    env: (bucket, extra = {}) => ({
      TOKENFORGE_S3_ENDPOINT: endpoint,
      TOKENFORGE_S3_BUCKET: bucket,
      TOKENFORGE_S3_REGION: S3_REGION,
      AWS_ACCESS_KEY_ID: S3_ACCESS_KEY,
      AWS_SECRET_ACCESS_KEY: S3_SECRET_KEY,
      ...extra,
    }),
    client: makeClient,
    async createBucket(name) {
      const client = makeClient();
      await client.send(new CreateBucketCommand({ Bucket: name }));
    },
    async storedObject(bucket, key) {
      try {
        return await readFile(join(dir, bucket, `${key}._S3rver_object`));
      } catch {
        return undefined;
      }
    },
    stop,
    async start() {
      if (current === undefined) await listen();
    },
    async close() {
      for (const c of clients) c.destroy();
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
