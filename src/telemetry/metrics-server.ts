/** A minimal HTTP server for one registry: GET /metrics in Prometheus's text format, 404 otherwise. */
import { createServer } from "node:http";
import type { Registry } from "prom-client";

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

export async function startMetricsServer(
  registry: Registry,
  opts: { host?: string; port?: number } = {},
): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    if (req.method === "GET" && (req.url === "/metrics" || req.url?.startsWith("/metrics?"))) {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { "content-type": registry.contentType });
          res.end(text);
        },
        (err: Error) => {
          res.writeHead(500, { "content-type": "text/plain" });
          res.end(`metrics failed: ${err.message}\n`);
        },
      );
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("only GET /metrics here\n");
  });
  const host = opts.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
