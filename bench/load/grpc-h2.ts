import net from "node:net";
import { encodeHeaderBlock, readStatusHeaders } from "./hpack.js";

/** Called once per call: a transport error, or the outcome label (`grpc:0` is OK). */
export type GrpcCallback = (err: Error | null, label: string) => void;

// RFC 9113 frame types, flags, settings and error codes used here.
const DATA = 0x0;
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const PING = 0x6;
const GOAWAY = 0x7;
const WINDOW_UPDATE = 0x8;
const CONTINUATION = 0x9;
const END_STREAM = 0x1;
const ACK = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY = 0x20;
const SETTINGS_HEADER_TABLE_SIZE = 0x1;
const SETTINGS_ENABLE_PUSH = 0x2;
const SETTINGS_INITIAL_WINDOW_SIZE = 0x4;
const SETTINGS_MAX_FRAME_SIZE = 0x5;
const CANCEL = 0x8;
const maxWindow = 2 ** 31 - 1;
const defaultWindow = 65_535;
const preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
const empty = Buffer.alloc(0);

function frameHeader(length: number, type: number, flags: number, streamId: number): Buffer {
  const h = Buffer.allocUnsafe(9);
  h.writeUIntBE(length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(streamId, 5);
  return h;
}

function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  return Buffer.concat([frameHeader(payload.length, type, flags, streamId), payload]);
}

interface Call {
  id: number;
  cb: GrpcCallback;
  deadline: number;
  /** What the server still lets this stream send (its stream window). */
  sendWindow: number;
  body: Buffer;
  /** Bytes of {@link body} sent so far. */
  sent: number;
  status?: number;
  grpcStatus?: string;
  /** Fragments of a header block still waiting for its CONTINUATION frames. */
  headerFragments?: Buffer[];
  /** Whether the header block being assembled ends the stream. */
  headerEndsStream?: boolean;
}

/**
 * One HTTP/2 cleartext (prior knowledge) session carrying unary gRPC calls,
 * spoken directly on a socket: prepared header blocks, the body in DATA frames
 * as flow control allows, and from the answer only `:status` and
 * `grpc-status`. node:http2's client spends far more CPU per call than the raw
 * HTTP/1.1 client the REST scenarios use (stream and header objects, several
 * events per call), and the load generator shares the 2 cores with the server
 * it measures. The wire is exactly gRPC's; a test holds this client to
 * node:http2's server. A connection that fails fails its calls in flight; one
 * sent away (GOAWAY) finishes the calls the server took and fails the rest. The
 * next call opens another.
 */
export class GrpcH2Session {
  private connection: H2Connection | undefined;
  private readonly blocks = new Map<string, Buffer>();
  private readonly host: string;
  private readonly port: number;

  constructor(
    url: string,
    private readonly timeoutMs = 30_000,
  ) {
    const u = new URL(url);
    if (u.protocol !== "http:") throw new Error(`GrpcH2Session speaks h2c only, not ${u.protocol}`);
    this.host = u.hostname;
    this.port = Number(u.port || 80);
  }

  /** Sends one unary call to `path`; `body` is the 5-byte gRPC prefix plus the message. */
  call(path: string, authorization: string, body: Buffer, cb: GrpcCallback): void {
    if (!this.connection?.open) this.connection = new H2Connection(this.host, this.port);
    this.connection.call(this.headerBlock(path, authorization), body, performance.now() + this.timeoutMs, cb);
  }

  /** Closes the connection; calls in flight fail. */
  close(): void {
    this.connection?.destroy();
    this.connection = undefined;
  }

  private headerBlock(path: string, authorization: string): Buffer {
    const key = `${path}\n${authorization}`;
    let block = this.blocks.get(key);
    if (!block) {
      block = encodeHeaderBlock([
        [":method", "POST"],
        [":scheme", "http"],
        [":authority", `${this.host}:${this.port}`],
        [":path", path],
        ["content-type", "application/grpc+proto"],
        ["te", "trailers"],
        ["authorization", authorization],
      ]);
      this.blocks.set(key, block);
    }
    return block;
  }
}

class H2Connection {
  /** False once the socket failed or the server sent GOAWAY: take no new calls. */
  open = true;
  private readonly socket: net.Socket;
  private readonly calls = new Map<number, Call>();
  /** Calls with body bytes not yet sent, in order. */
  private sending: Call[] = [];
  private nextId = 1;
  private connWindow = defaultWindow;
  private peerInitialWindow = defaultWindow;
  private peerMaxFrame = 16_384;
  private received = 0;
  private inbox: Buffer = empty;
  private readonly sweeper: NodeJS.Timeout;

  constructor(host: string, port: number) {
    const socket = net.connect({ host, port, noDelay: true });
    this.socket = socket;
    const settings = Buffer.alloc(18);
    // No dynamic header table (answers can be read without one), no push, and
    // windows the server never has to wait on.
    settings.writeUInt16BE(SETTINGS_HEADER_TABLE_SIZE, 0);
    settings.writeUInt32BE(0, 2);
    settings.writeUInt16BE(SETTINGS_ENABLE_PUSH, 6);
    settings.writeUInt32BE(0, 8);
    settings.writeUInt16BE(SETTINGS_INITIAL_WINDOW_SIZE, 12);
    settings.writeUInt32BE(maxWindow, 14);
    const increment = Buffer.allocUnsafe(4);
    increment.writeUInt32BE(maxWindow - defaultWindow, 0);
    socket.write(Buffer.concat([preface, frame(SETTINGS, 0, 0, settings), frame(WINDOW_UPDATE, 0, 0, increment)]));
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    const gone = (err?: NodeJS.ErrnoException) => {
      this.open = false;
      clearInterval(this.sweeper);
      this.failAll(new Error(err?.code ?? err?.message ?? "session closed"));
    };
    socket.on("error", gone);
    socket.on("close", () => gone());
    this.sweeper = setInterval(() => this.sweep(), 1000).unref();
  }

  call(block: Buffer, body: Buffer, deadline: number, cb: GrpcCallback): void {
    // A block of a few hundred bytes fits one frame; CONTINUATION is not written.
    if (block.length > this.peerMaxFrame) throw new Error(`header block of ${block.length} bytes exceeds one frame`);
    const id = this.nextId;
    this.nextId += 2;
    if (this.nextId > maxWindow) this.open = false; // stream ids run out: the next call opens another connection
    const call: Call = { id, cb, deadline, sendWindow: this.peerInitialWindow, body, sent: 0 };
    this.calls.set(id, call);
    this.socket.cork();
    this.socket.write(frameHeader(block.length, HEADERS, END_HEADERS, id));
    this.socket.write(block);
    this.sending.push(call);
    this.pump();
    this.socket.uncork();
  }

  destroy(): void {
    this.socket.destroy();
  }

  // Sends body bytes in order, as far as the connection and stream windows allow.
  private pump(): void {
    let i = 0;
    while (i < this.sending.length && this.connWindow > 0) {
      const call = this.sending[i]!;
      if (!this.calls.has(call.id)) {
        this.sending.splice(i, 1);
        continue;
      }
      const n = Math.min(call.body.length - call.sent, this.peerMaxFrame, this.connWindow, call.sendWindow);
      const last = call.sent + n === call.body.length;
      if (n <= 0 && !last) {
        i++; // this stream's window is shut; later calls may still send
        continue;
      }
      this.socket.write(frameHeader(n, DATA, last ? END_STREAM : 0, call.id));
      if (n > 0) this.socket.write(call.body.subarray(call.sent, call.sent + n));
      call.sent += n;
      call.sendWindow -= n;
      this.connWindow -= n;
      if (last) this.sending.splice(i, 1);
    }
  }

  private onData(chunk: Buffer): void {
    const buf = this.inbox.length === 0 ? chunk : Buffer.concat([this.inbox, chunk]);
    let at = 0;
    while (buf.length - at >= 9) {
      const length = buf.readUIntBE(at, 3);
      if (buf.length - at < 9 + length) break;
      const type = buf[at + 3]!;
      const flags = buf[at + 4]!;
      const streamId = buf.readUInt32BE(at + 5) & 0x7fffffff;
      this.onFrame(type, flags, streamId, buf.subarray(at + 9, at + 9 + length));
      at += 9 + length;
    }
    this.inbox = at === buf.length ? empty : Buffer.from(buf.subarray(at));
  }

  private onFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    switch (type) {
      case DATA: {
        this.received += payload.length;
        if (this.received >= 2 ** 30) {
          const inc = Buffer.allocUnsafe(4);
          inc.writeUInt32BE(this.received, 0);
          this.socket.write(frame(WINDOW_UPDATE, 0, 0, inc));
          this.received = 0;
        }
        const call = this.calls.get(streamId);
        if (call && flags & END_STREAM) this.finish(call, null);
        return;
      }
      case HEADERS:
      case CONTINUATION: {
        const call = this.calls.get(streamId);
        if (!call) return;
        let start = 0;
        let end = payload.length;
        if (type === HEADERS) {
          if (flags & PADDED) {
            start = 1;
            end -= payload[0]!;
          }
          if (flags & PRIORITY) start += 5;
          call.headerEndsStream = (flags & END_STREAM) !== 0;
        }
        const fragment = payload.subarray(start, end);
        if (!(flags & END_HEADERS)) {
          (call.headerFragments ??= []).push(Buffer.from(fragment));
          return;
        }
        const block = call.headerFragments ? Buffer.concat([...call.headerFragments, fragment]) : fragment;
        call.headerFragments = undefined;
        let read;
        try {
          read = readStatusHeaders(block);
        } catch (err) {
          this.finish(call, err as Error);
          return;
        }
        if (read.status !== undefined) call.status = read.status;
        if (read.grpcStatus !== undefined) call.grpcStatus = read.grpcStatus;
        if (call.headerEndsStream) this.finish(call, null);
        return;
      }
      case RST_STREAM: {
        const call = this.calls.get(streamId);
        if (call) this.finish(call, new Error(`RST_STREAM ${payload.readUInt32BE(0)}`));
        return;
      }
      case SETTINGS: {
        if (flags & ACK) return;
        for (let i = 0; i + 6 <= payload.length; i += 6) {
          const id = payload.readUInt16BE(i);
          const value = payload.readUInt32BE(i + 2);
          if (id === SETTINGS_INITIAL_WINDOW_SIZE) {
            // RFC 9113 6.9.2: open streams' windows move by the difference.
            for (const call of this.calls.values()) call.sendWindow += value - this.peerInitialWindow;
            this.peerInitialWindow = value;
          } else if (id === SETTINGS_MAX_FRAME_SIZE) {
            this.peerMaxFrame = value;
          }
        }
        this.socket.cork();
        this.socket.write(frameHeader(0, SETTINGS, ACK, 0));
        this.pump();
        this.socket.uncork();
        return;
      }
      case PING:
        if (!(flags & ACK)) this.socket.write(frame(PING, ACK, 0, payload));
        return;
      case WINDOW_UPDATE: {
        const inc = payload.readUInt32BE(0) & 0x7fffffff;
        if (streamId === 0) this.connWindow += inc;
        else {
          const call = this.calls.get(streamId);
          if (call) call.sendWindow += inc;
        }
        this.socket.cork();
        this.pump();
        this.socket.uncork();
        return;
      }
      case GOAWAY: {
        // Streams above the last one the server will process never ran; the
        // rest finish here, new calls go to another connection.
        this.open = false;
        const lastId = payload.readUInt32BE(0) & 0x7fffffff;
        for (const call of [...this.calls.values()]) if (call.id > lastId) this.finish(call, new Error("GOAWAY"));
        if (this.calls.size === 0) this.socket.end();
        return;
      }
      default:
        return; // PRIORITY, PUSH_PROMISE (refused by our settings), unknown types
    }
  }

  private finish(call: Call, err: Error | null): void {
    if (!this.calls.delete(call.id)) return;
    if (!this.open && this.calls.size === 0) this.socket.end();
    if (err) call.cb(err, "");
    else if (call.grpcStatus !== undefined) call.cb(null, `grpc:${call.grpcStatus}`);
    else if (call.status !== undefined) call.cb(null, `http:${call.status}`);
    else call.cb(new Error("stream closed"), "");
  }

  private failAll(err: Error): void {
    for (const call of [...this.calls.values()]) this.finish(call, err);
    this.sending = [];
  }

  private sweep(): void {
    const now = performance.now();
    for (const call of [...this.calls.values()]) {
      if (call.deadline > now) continue;
      const code = Buffer.allocUnsafe(4);
      code.writeUInt32BE(CANCEL, 0);
      this.socket.write(frame(RST_STREAM, 0, call.id, code));
      this.finish(call, new Error("timeout"));
    }
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
