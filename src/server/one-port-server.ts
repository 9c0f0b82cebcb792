import { readFileSync } from "node:fs";
import http from "node:http";
import http2 from "node:http2";
import net, { type AddressInfo, type Socket } from "node:net";
import tls from "node:tls";
import type { HttpTimeouts, TlsFiles } from "../config.js";

/** The HTTP/2 client connection preface (RFC 9113 §3.4). */
const preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/** Receive window of each HTTP/2 stream: a whole default-limit (1 MiB) request body. */
const h2StreamWindow = 1024 * 1024;
/** Receive window of each HTTP/2 connection, shared by its streams. */
const h2SessionWindow = 8 * 1024 * 1024;

/** A request handler that serves both HTTP/1.1 and HTTP/2 (compat API) requests. */
export type DualHandler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

/** Options of {@link createOnePortServer}. */
export interface OnePortServerOptions {
  handler: DualHandler;
  timeouts: HttpTimeouts;
  /** Serve TLS with ALPN (h2, http/1.1) instead of cleartext. */
  tls?: TlsFiles | undefined;
}

/** A listener that speaks HTTP/1.1 and HTTP/2 on one port. */
export interface OnePortServer {
  listen(port: number, host: string): Promise<AddressInfo>;
  /**
   * Stops accepting, lets in-flight requests finish, then closes every
   * connection; whatever is still open after `graceMs` is destroyed.
   */
  close(graceMs: number): Promise<void>;
}

/**
 * One port for every protocol. Cleartext connections are told apart by their
 * first bytes: the HTTP/2 preface (prior knowledge, h2c, as gRPC clients use)
 * goes to an `http2` server, anything else to an `http` server. With TLS, ALPN
 * decides instead.
 */
export function createOnePortServer(options: OnePortServerOptions): OnePortServer {
  const { handler, timeouts } = options;
  const h1 = http.createServer(
    {
      keepAliveTimeout: timeouts.idleTimeoutMs,
      headersTimeout: timeouts.headersTimeoutMs,
      requestTimeout: timeouts.requestTimeoutMs,
      // Node checks both timeouts on this period (default 30 s), so without it a
      // client that stalls mid-headers would be cut off up to 30 s late.
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(timeouts.headersTimeoutMs / 4))),
    },
    handler,
  );
  // HTTP/2 starts every stream and the connection at a 64 KB window. A gRPC
  // client multiplexes many ~35 KB batches on one session, so with the defaults
  // they queue behind WINDOW_UPDATEs (one round trip per 64 KB for the whole
  // session). Larger windows let a session's calls arrive at once; node reads
  // each stream as it arrives, so they bound buffering rather than add to it.
  const h2 = http2.createServer({ settings: { initialWindowSize: h2StreamWindow } }, handler);
  // Sessions with no stream activity for this long are closed (the default
  // 'timeout' behaviour of an http2 server with no listener is to destroy them).
  h2.setTimeout(timeouts.idleTimeoutMs);
  // The http server's request timeout has no http2 twin: each stream gets the
  // same time to send its whole request (headers and body); a stream whose
  // request is complete may then stay open (server streaming, health Watch).
  h2.on("stream", (stream) => {
    const timer = setTimeout(() => {
      if (!stream.readableEnded) stream.close(http2.constants.NGHTTP2_CANCEL);
    }, timeouts.requestTimeoutMs);
    timer.unref();
    stream.once("close", () => clearTimeout(timer));
    stream.once("end", () => clearTimeout(timer));
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on("session", (session) => {
    // The connection window is not a SETTINGS value: it grows by WINDOW_UPDATE.
    session.setLocalWindowSize(h2SessionWindow);
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  const sockets = new Set<Socket>();

  const dispatch = (socket: Socket, isHttp2: boolean) => {
    if (isHttp2) {
      // The http2 session reads the bytes put back by the sniffer itself (it
      // drains socket.read() on the next tick), then reads the handle directly.
      h2.emit("connection", socket);
      return;
    }
    h1.emit("connection", socket);
    // The http server attaches its parser but leaves a paused socket paused:
    // resume so the bytes put back by the sniffer, and the rest, flow to it.
    socket.resume();
  };

  const sniff = (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    // A connection must say which protocol it speaks within the headers timeout,
    // however slowly its bytes come (an idle timer would restart on each byte).
    const deadline = setTimeout(() => socket.destroy(), timeouts.headersTimeoutMs);
    socket.once("close", () => clearTimeout(deadline));
    let head: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const n = Math.min(head.length, preface.length);
      const looksHttp2 = head.subarray(0, n).equals(preface.subarray(0, n));
      if (looksHttp2 && head.length < preface.length) return; // need more bytes to decide
      socket.off("data", onData);
      socket.pause();
      clearTimeout(deadline);
      socket.unshift(head);
      dispatch(socket, looksHttp2);
    };
    socket.on("data", onData);
    socket.on("error", () => socket.destroy());
  };

  // The server that accepts sets TCP_NODELAY (http.createServer does by default,
  // net.createServer does not, and the inner servers never accept). With Nagle
  // on, an answer written in parts (HTTP/2 HEADERS, DATA and trailers) waited
  // for the client's delayed ACK whenever the connection was otherwise quiet.
  let outer: net.Server;
  if (options.tls) {
    const secure = tls.createServer({
      cert: readFileSync(options.tls.certFile),
      key: readFileSync(options.tls.keyFile),
      ALPNProtocols: ["h2", "http/1.1"],
      noDelay: true,
    });
    secure.on("secureConnection", (socket) => {
      sockets.add(socket);
      socket.once("close", () => sockets.delete(socket));
      dispatch(socket, socket.alpnProtocol === "h2");
    });
    outer = secure;
  } else {
    outer = net.createServer({ pauseOnConnect: false, noDelay: true }, sniff);
  }

  return {
    listen(port, host) {
      return new Promise((resolve, reject) => {
        outer.once("error", reject);
        outer.listen(port, host, () => {
          outer.off("error", reject);
          // The inner servers never listen themselves; without this event the
          // http server never starts its headers/request timeout checks.
          h1.emit("listening");
          resolve(outer.address() as AddressInfo);
        });
      });
    },
    async close(graceMs) {
      const closed = new Promise<void>((resolve) => outer.close(() => resolve()));
      h1.close();
      h1.closeIdleConnections();
      for (const s of sessions) s.close();
      const deadline = setTimeout(() => {
        h1.closeAllConnections();
        for (const s of sessions) s.destroy();
        for (const s of sockets) s.destroy();
      }, graceMs);
      const drained = new Promise<void>((resolve) => {
        const check = () => {
          h1.closeIdleConnections();
          if (sockets.size === 0) resolve();
          else setTimeout(check, 20);
        };
        check();
      });
      await Promise.all([closed, drained]);
      clearTimeout(deadline);
      h2.close();
    },
  };
}
