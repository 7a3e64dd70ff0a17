/**
 * What the tests of the Transformers worker (workers/transformers/) share: the Python that runs
 * it, its directory, an address for it on a free local port, and JSON posts to it.
 */
import { join } from "node:path";
import { freePort } from "../../src/control/local/free-port.js";

export const PYTHON = process.env.TOKENFORGE_PYTHON ?? "python3";
export const WORKER_DIR = join(import.meta.dirname, "..", "..", "workers", "transformers");

/** A port nobody listens on right now on 127.0.0.1, and the worker's base URL there. */
export async function freeWorkerAddress(): Promise<{ port: number; url: string }> {
  const port = await freePort();
  return { port, url: `http://127.0.0.1:${port}` };
}

/**
 * POSTs to the worker whose base URL `url()` gives at the time of the call: a string body is
 * sent as it is, anything else as JSON.
 */
export function workerPost(url: () => string): (path: string, body: unknown) => Promise<Response> {
  return (path, body) =>
    fetch(`${url()}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
}
