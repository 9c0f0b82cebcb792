// Not a fast path: it exists for gRPC clients' retry policies (see below), and it costs CPU.
// Measured 2026-12-03 (`npm run bench`, 10 s rows, three alternating rounds, gateway CPU per
// event, without it): grpc-200 4.0 µs against 3.1 without (+28%), grpc-1 417 µs a call
// against 378 (+10%). Patching each response's methods is the likely cost.
import type { OutgoingHttpHeaders } from "node:http";
import type { Http2ServerResponse } from "node:http2";
import type { DualHandler } from "./one-port-server.js";

/**
 * Sends gRPC responses without a message as "Trailers-Only": one HEADERS frame
 * carrying `grpc-status`, with END_STREAM.
 *
 * connect-node writes the response headers first and the status as trailers
 * afterwards, even for an error with no message. gRPC clients treat a call whose
 * headers arrived as committed (gRFC A6), so their transparent retry policies
 * (retry UNAVAILABLE, RESOURCE_EXHAUSTED) never fire. Holding the headers until
 * the first body byte, and folding the trailers into them when none comes, gives
 * clients the standard shape and makes those retries work.
 */
export function withGrpcTrailersOnly(handler: DualHandler): DualHandler {
  return (req, res) => {
    const ct = req.headers["content-type"];
    if (req.httpVersionMajor === 2 && typeof ct === "string" && ct.startsWith("application/grpc") && !ct.startsWith("application/grpc-web")) {
      deferHeaders(res as Http2ServerResponse);
    }
    handler(req, res);
  };
}

function deferHeaders(res: Http2ServerResponse): void {
  const writeHead = res.writeHead;
  const write = res.write;
  const end = res.end;
  const addTrailers = res.addTrailers;
  let head: { status: number; headers: OutgoingHttpHeaders } | undefined;
  let trailers: OutgoingHttpHeaders = {};
  let bodyStarted = false;

  const restore = () => {
    res.writeHead = writeHead;
    res.write = write;
    res.end = end;
    res.addTrailers = addTrailers;
  };
  const flushHead = () => {
    restore();
    bodyStarted = true;
    if (head) (writeHead as (s: number, h: OutgoingHttpHeaders) => unknown).call(res, head.status, head.headers);
    if (Object.keys(trailers).length > 0) addTrailers.call(res, trailers);
  };

  res.writeHead = function (this: Http2ServerResponse, status: number, a?: unknown, b?: unknown) {
    const headers = (typeof a === "object" && a !== null ? a : b) as OutgoingHttpHeaders | undefined;
    head = { status, headers: { ...head?.headers, ...headers } };
    return this;
  } as typeof res.writeHead;
  res.addTrailers = function (this: Http2ServerResponse, t: OutgoingHttpHeaders) {
    trailers = { ...trailers, ...t };
    const message = trailers["grpc-message"];
    if (typeof message === "string") trailers["grpc-message"] = specPercentEncoding(message);
  } as typeof res.addTrailers;
  res.write = function (this: Http2ServerResponse, ...args: unknown[]) {
    flushHead();
    return (write as (...a: unknown[]) => boolean).apply(this, args);
  } as typeof res.write;
  res.end = function (this: Http2ServerResponse, ...args: unknown[]) {
    const chunk = args[0];
    const hasData = chunk !== undefined && chunk !== null && typeof chunk !== "function" && (chunk as { length: number }).length > 0;
    if (bodyStarted || hasData) {
      flushHead();
      return (end as (...a: unknown[]) => Http2ServerResponse).apply(this, args);
    }
    // No message: headers and status in one frame that ends the stream.
    restore();
    if (head) res.statusCode = head.status;
    for (const [name, value] of Object.entries({ ...head?.headers, ...trailers })) {
      if (value !== undefined) res.setHeader(name, value);
    }
    return (end as (...a: unknown[]) => Http2ServerResponse).apply(this, args);
  } as typeof res.end;
}

/**
 * Re-encodes `grpc-message` as the gRPC spec says: percent-encode only bytes
 * outside printable ASCII, and `%`. connect-node uses encodeURIComponent, which
 * also encodes `,` `:` `;` and the like; grpc-js decodes with decodeURI, which
 * leaves those encoded, so its users would read "unavailable%2C retry later".
 */
export function specPercentEncoding(encoded: string): string {
  let text: string;
  try {
    text = decodeURIComponent(encoded);
  } catch {
    return encoded;
  }
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}
