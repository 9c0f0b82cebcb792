import net from "node:net";

/**
 * Called once per request: an error (socket closed, timeout), or the response
 * status and whether it carried a Retry-After header.
 */
export type H1Callback = (err: Error | null, status: number, retryAfter: boolean) => void;

/**
 * One keep-alive HTTP/1.1 connection with one request in flight, on a raw
 * socket. Node's `http` client costs several times the CPU per request of
 * writing one prepared buffer and scanning the answer, and the load generator
 * shares the machine with the server it measures. Understands Content-Length
 * and chunked bodies and `connection: close`; enough for this server.
 */
export class H1Connection {
  private socket: net.Socket | undefined;
  private pending: H1Callback | undefined;
  private buf: Buffer = Buffer.alloc(0);
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly timeoutMs = 30_000,
  ) {}

  /** Writes `request` (head and body, complete) and calls `cb` with the status once the whole answer is in. */
  send(request: Buffer, cb: H1Callback): void {
    if (this.pending) throw new Error("H1Connection: one request at a time");
    this.pending = cb;
    const socket = this.socket ?? this.connect();
    this.timer = setTimeout(() => this.fail(new Error("timeout")), this.timeoutMs);
    socket.write(request);
  }

  /** Closes the socket; a request in flight fails. */
  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }

  private connect(): net.Socket {
    const socket = net.connect({ host: this.host, port: this.port, noDelay: true });
    this.socket = socket;
    this.buf = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
      this.parse();
    });
    const onGone = (err?: Error) => {
      if (this.socket === socket) this.socket = undefined;
      this.fail(err ?? new Error("ECONNRESET"));
    };
    socket.on("error", (err) => onGone(err));
    socket.on("close", () => onGone());
    return socket;
  }

  private fail(err: Error): void {
    const cb = this.pending;
    if (!cb) return;
    this.pending = undefined;
    clearTimeout(this.timer);
    const socket = this.socket;
    this.socket = undefined;
    socket?.destroy();
    const code = (err as NodeJS.ErrnoException).code;
    cb(code ? new Error(code) : err, 0, false);
  }

  private parse(): void {
    const headEnd = this.buf.indexOf("\r\n\r\n");
    if (headEnd < 0) return;
    const head = this.buf.toString("latin1", 0, headEnd);
    const status = Number(head.slice(9, 12));
    const lower = head.toLowerCase();
    const close = lower.includes("\r\nconnection: close");
    const retryAfter = lower.includes("\r\nretry-after:");
    const bodyStart = headEnd + 4;
    let end: number;
    const lenAt = lower.indexOf("\r\ncontent-length:");
    if (lenAt >= 0) {
      const lineEnd = lower.indexOf("\r\n", lenAt + 17);
      end = bodyStart + Number.parseInt(lower.slice(lenAt + 17, lineEnd < 0 ? undefined : lineEnd), 10);
      if (this.buf.length < end) return;
    } else if (lower.includes("\r\ntransfer-encoding: chunked")) {
      const found = chunkedEnd(this.buf, bodyStart);
      if (found < 0) return;
      end = found;
    } else {
      end = bodyStart; // no body (e.g. 204) on a keep-alive connection
    }
    this.buf = this.buf.length > end ? this.buf.subarray(end) : Buffer.alloc(0);
    const cb = this.pending;
    this.pending = undefined;
    clearTimeout(this.timer);
    if (close) {
      this.socket?.destroy();
      this.socket = undefined;
    }
    cb?.(null, status, retryAfter);
  }
}

// Index just past a chunked body starting at `at`, or -1 while incomplete.
function chunkedEnd(buf: Buffer, at: number): number {
  let pos = at;
  for (;;) {
    const lineEnd = buf.indexOf("\r\n", pos);
    if (lineEnd < 0) return -1;
    const size = Number.parseInt(buf.toString("latin1", pos, lineEnd), 16);
    if (Number.isNaN(size)) return buf.length; // unparsable: take everything
    if (size === 0) {
      const trailerEnd = buf.indexOf("\r\n\r\n", lineEnd);
      // "0\r\n\r\n" ends right after the size line's CRLF plus one more CRLF.
      if (buf.length >= lineEnd + 4 && buf[lineEnd + 2] === 0x0d && buf[lineEnd + 3] === 0x0a) return lineEnd + 4;
      return trailerEnd < 0 ? -1 : trailerEnd + 4;
    }
    pos = lineEnd + 2 + size + 2;
    if (pos > buf.length) return -1;
  }
}
