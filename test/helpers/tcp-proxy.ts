/**
 * A TCP proxy under a test's control (node:net), to put between a client and a real server and
 * simulate an outage without touching the server: `cut()` drops every connection and stops
 * listening (new connections are refused), `stall()` drops every connection and then accepts new
 * ones without ever forwarding them (a server that does not answer), `restore()` forwards again on
 * the same port.
 */
import { connect, createServer, type Server, type Socket } from "node:net";

export interface TcpProxy {
  /** The port it listens on; it stays the same across cut() and restore(). */
  port: number;
  /** Connections forwarded so far. */
  forwarded(): number;
  cut(): Promise<void>;
  stall(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let mode: "forward" | "stall" = "forward";
  let forwarded = 0;
  const track = (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    // A socket destroyed by cut() or by its peer may report an error; the test reads the effect.
    s.on("error", () => {});
  };
  const onConnection = (client: Socket) => {
    track(client);
    if (mode === "stall") return;
    forwarded++;
    const upstream = connect(target.port, target.host);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  };
  const listen = (port: number) =>
    new Promise<Server>((resolve, reject) => {
      const server = createServer(onConnection);
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve(server));
    });
  const dropAll = () => {
    for (const s of sockets) s.destroy();
    sockets.clear();
  };

  let server: Server | undefined = await listen(0);
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("the proxy has no TCP address");
  const port = address.port;

  const stop = async () => {
    const s = server;
    server = undefined;
    if (s === undefined) return;
    const closed = new Promise<void>((resolve) => s.close(() => resolve()));
    dropAll();
    await closed;
  };

  return {
    port,
    forwarded: () => forwarded,
    cut: stop,
    stall: async () => {
      mode = "stall";
      dropAll();
      if (server === undefined) server = await listen(port);
    },
    restore: async () => {
      mode = "forward";
      dropAll();
      if (server === undefined) server = await listen(port);
    },
    close: stop,
  };
}
