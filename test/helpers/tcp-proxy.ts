import { createServer, connect, type Server, type Socket } from "node:net";
import { freePort } from "./free-port.js";

/**
 * A TCP proxy to a real server that a test can take down and bring back on the
 * same port: while it is down, connecting is refused like a stopped MySQL, and
 * taking it down cuts every open connection like a crashed one.
 */
export interface TcpProxy {
  readonly port: number;
  /** Starts accepting connections on {@link port}. */
  up(): Promise<void>;
  /** Stops accepting and cuts every open connection. */
  down(): Promise<void>;
}

/** A proxy to `target`, on a free port, down until {@link TcpProxy.up}. */
export async function createTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  return {
    port,
    async up() {
      if (server) return;
      const s = createServer((client) => {
        const upstream = connect(target.port, target.host);
        sockets.add(client).add(upstream);
        const drop = () => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        client.on("error", drop).on("close", drop);
        upstream.on("error", drop).on("close", drop);
        client.pipe(upstream);
        upstream.pipe(client);
      });
      await new Promise<void>((resolve, reject) => {
        s.once("error", reject);
        s.listen(port, "127.0.0.1", () => resolve());
      });
      server = s;
    },
    async down() {
      const s = server;
      server = undefined;
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    },
  };
}
