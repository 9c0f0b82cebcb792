import http2 from "node:http2";

/** Called once per call: a transport error, or the outcome label (`grpc:0` is OK). */
export type GrpcCallback = (err: Error | null, label: string) => void;

/**
 * One HTTP/2 cleartext (prior knowledge) session carrying unary gRPC calls with
 * prepared, length-prefixed Protobuf frames. node:http2 does the framing in C
 * (nghttp2), so many concurrent calls cost the load generator far less CPU than
 * a full gRPC client library would; the wire is exactly gRPC's.
 */
export class GrpcH2Session {
  private session: http2.ClientHttp2Session | undefined;

  constructor(
    private readonly url: string,
    private readonly timeoutMs = 30_000,
  ) {}

  /** Sends one unary call to `path`; `frame` is the 5-byte gRPC prefix plus the message. */
  call(path: string, authorization: string, frame: Buffer, cb: GrpcCallback): void {
    const session = this.open();
    let done = false;
    let code: string | undefined;
    let httpStatus = 0;
    const finish = (err: Error | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) cb(err, "");
      else cb(null, code !== undefined ? `grpc:${code}` : `http:${httpStatus}`);
    };
    const timer = setTimeout(() => {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      finish(new Error("timeout"));
    }, this.timeoutMs);
    const stream = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc+proto",
      te: "trailers",
      authorization,
    });
    stream.on("response", (headers) => {
      httpStatus = Number(headers[":status"]);
      // Trailers-only responses (errors) put grpc-status in the headers.
      const s = headers["grpc-status"];
      if (s !== undefined) code = String(s);
    });
    stream.on("trailers", (trailers) => {
      const s = trailers["grpc-status"];
      if (s !== undefined) code = String(s);
    });
    stream.on("data", () => {});
    stream.on("error", (err: NodeJS.ErrnoException) => finish(new Error(err.code ?? err.message)));
    stream.on("close", () => finish(code === undefined && httpStatus === 0 ? new Error("stream closed") : null));
    stream.end(frame);
  }

  /** Closes the session; calls in flight fail. */
  close(): void {
    this.session?.destroy();
    this.session = undefined;
  }

  private open(): http2.ClientHttp2Session {
    if (this.session && !this.session.destroyed && !this.session.closed) return this.session;
    const session = http2.connect(this.url);
    session.on("error", () => {});
    session.on("close", () => {
      if (this.session === session) this.session = undefined;
    });
    this.session = session;
    return session;
  }
}

/** The 5-byte gRPC message prefix (uncompressed, big-endian length) plus `message`. */
export function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(5 + message.length);
  frame[0] = 0;
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}
