/**
 * A tiny API-key gate in front of a server: every request without `Authorization: Bearer <key>`
 * gets 401 in OpenAI's error shape; the rest are passed through unbuffered (streams stay
 * streams), and a client that leaves aborts its upstream request. Stands in for a hosted API.
 */
import { createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";

export interface AuthProxy {
  url: string;
  /** Requests refused for a missing or wrong key. */
  refused: number;
  close(): Promise<void>;
}

export async function startAuthProxy(upstream: string, key: string): Promise<AuthProxy> {
  const target = new URL(upstream);
  const state = { refused: 0 };
  const server = createServer((req, res) => {
    if (req.headers.authorization !== `Bearer ${key}`) {
      state.refused++;
      req.resume();
      res.writeHead(401, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          error: {
            message: "Incorrect API key provided.",
            type: "invalid_request_error",
            param: null,
            code: "invalid_api_key",
          },
        }),
      );
      return;
    }
    const headers = { ...req.headers, host: target.host };
    delete headers.authorization;
    const up = httpRequest(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on("error", () => res.destroy());
    res.on("close", () => {
      if (!res.writableFinished) up.destroy();
    });
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get refused() {
      return state.refused;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
