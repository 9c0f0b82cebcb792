/**
 * Raw wire helpers for the fuzz tests: one request with exact bytes and headers
 * over HTTP/1.1 (fetch) or HTTP/2 (node:http2, for gRPC), timed, with the answer
 * decoded into the parts the tests assert on.
 */
import assert from "node:assert/strict";
import http2 from "node:http2";

/** A timed HTTP answer. */
export interface Answer {
  status: number;
  headers: Headers;
  body: Buffer;
  ms: number;
}

/** POSTs `body` with exactly `headers` over HTTP/1.1 and times the whole answer. */
export async function post(url: string, body: Uint8Array | string, headers: Record<string, string>): Promise<Answer> {
  const started = performance.now();
  const res = await fetch(url, { method: "POST", headers, body });
  const buf = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, body: buf, ms: performance.now() - started };
}

/** Lines that only a stack trace or a source path would put in an answer. */
export function assertNoInternals(text: string, what: string): void {
  assert.ok(!/\n\s+at /.test(text) && !/^\s+at /m.test(text), `${what}: a stack trace in the answer: ${text.slice(0, 300)}`);
  assert.ok(!/\/(work|home|usr|src|node_modules)\/|\.ts:\d+|\.js:\d+/.test(text), `${what}: a file path in the answer: ${text.slice(0, 300)}`);
}

/** Names of the REST error body per status (API.md). */
export const restErrorNames: Record<number, string> = {
  400: "BAD_REQUEST",
  401: "UNAUTHORIZED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  409: "CONFLICT",
  413: "PAYLOAD_TOO_LARGE",
  415: "UNSUPPORTED_MEDIA_TYPE",
  429: "TOO_MANY_REQUESTS",
  500: "INTERNAL",
  503: "SERVICE_UNAVAILABLE",
};

/** A gRPC answer over HTTP/2: status from the trailers or, for Trailers-Only, the headers. */
export interface GrpcAnswer {
  httpStatus: number;
  grpcStatus: number | undefined;
  grpcMessage: string;
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders;
  data: Buffer;
  ms: number;
}

/** Frames `message` as one gRPC length-prefixed message. */
export function grpcFrame(message: Uint8Array, compressed = false): Buffer {
  const head = Buffer.alloc(5);
  head[0] = compressed ? 1 : 0;
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

/** One unary gRPC call on `session` with exactly `body` as the request stream. */
export function grpcCall(session: http2.ClientHttp2Session, path: string, body: Uint8Array, headers: Record<string, string>): Promise<GrpcAnswer> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", ...headers });
    let head: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on("response", (h) => (head = h));
    stream.on("trailers", (t) => (trailers = t));
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("error", reject);
    stream.on("close", () => {
      const statusText = trailers["grpc-status"] ?? head["grpc-status"];
      const message = trailers["grpc-message"] ?? head["grpc-message"];
      resolve({
        httpStatus: Number(head[":status"]),
        grpcStatus: statusText === undefined ? undefined : Number(statusText),
        grpcMessage: typeof message === "string" ? decodeURIComponentSafe(message) : "",
        headers: head,
        trailers,
        data: Buffer.concat(chunks),
        ms: performance.now() - started,
      });
    });
    stream.end(Buffer.from(body));
  });
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The status and message of a gRPC-Web answer (trailer frame in the body, or headers). */
export function grpcWebStatus(answer: Answer): { grpcStatus: number | undefined; grpcMessage: string } {
  let status = answer.headers.get("grpc-status");
  let message = answer.headers.get("grpc-message") ?? "";
  let i = 0;
  while (i + 5 <= answer.body.length) {
    const flags = answer.body[i]!;
    const len = answer.body.readUInt32BE(i + 1);
    const payload = answer.body.subarray(i + 5, i + 5 + len);
    if (flags & 0x80) {
      for (const line of payload.toString("utf8").split("\r\n")) {
        const at = line.indexOf(":");
        if (at < 0) continue;
        const name = line.slice(0, at).trim().toLowerCase();
        const value = line.slice(at + 1).trim();
        if (name === "grpc-status") status = value;
        if (name === "grpc-message") message = decodeURIComponentSafe(value);
      }
    }
    i += 5 + len;
  }
  return { grpcStatus: status === null || status === undefined ? undefined : Number(status), grpcMessage: message };
}

/** gRPC status codes by name. */
export const GrpcCode = {
  OK: 0,
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;
