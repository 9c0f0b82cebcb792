import { Code, ConnectError, createConnectRouter, type ConnectRouter, type ConnectRouterOptions, type ContextValues } from "@connectrpc/connect";
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
  type ConnectNodeAdapterOptions,
} from "@connectrpc/connect-node";
import type { UniversalHandler, UniversalServerResponse } from "@connectrpc/connect/protocol";
import type { DescMessage, DescMethodUnary, JsonObject } from "@bufbuild/protobuf";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { bufferRequest, once } from "./buffered-request.js";
import { createGrpcUnaryFastPath, type GrpcUnaryFastPath } from "./grpc-unary-fast-path.js";
import type { UnaryImplementation } from "./unary-chain.js";
import { captureRawMessage, rawMessageKey, type RawMessageHolder } from "./raw-request.js";

type Fallback = NonNullable<ConnectNodeAdapterOptions["fallback"]>;
type NodeReq = Parameters<Fallback>[0];
type NodeRes = Parameters<Fallback>[1];

/** Options of {@link createRpcAdapter}: those of connect-node's adapter that we use. */
export interface RpcAdapterOptions extends ConnectRouterOptions {
  routes: (router: ConnectRouter) => void;
  fallback: Fallback;
  contextValues: (req: NodeReq) => ContextValues;
  /** Paths whose answers must never be cached (the auth RPCs). */
  noStorePrefixes?: string[];
  /** RPC paths whose raw request message is kept for the handler (see raw-request.ts). */
  captureRawPaths?: string[];
  /**
   * Methods that take binary requests (Connect `application/proto`, gRPC and
   * gRPC-Web) with an implementation of their own, for methods served with a
   * wire view of their request schema (see ingest-wire-schema.ts). JSON requests
   * to the same paths keep `routes` and the real schema. Plain gRPC calls to
   * them skip connect's pipeline (grpc-unary-fast-path.ts).
   */
  binaryRpcs?: BinaryRpc[];
  /** Methods whose plain Connect JSON requests are checked on their bytes before connect reads them. */
  jsonPrechecks?: JsonPrecheck[];
}

/** A unary method whose Connect JSON bodies can be vouched for without decoding them. */
export interface JsonPrecheck {
  method: DescMethodUnary<DescMessage, DescMessage>;
  /**
   * Checks a whole uncompressed Connect JSON body. True when it has put in
   * `values` all the method's implementation needs to serve the call without
   * the message, which connect then hands it empty; false: connect reads the
   * body itself and serves the call as for any other.
   */
  precheck(body: Buffer, values: ContextValues): boolean;
}

/** A unary method served by its own implementation for binary requests. */
export interface BinaryRpc {
  method: DescMethodUnary<DescMessage, DescMessage>;
  implementation: UnaryImplementation;
  /** The implementation reads the request from `rawMessageKey` when set: the fast path does not decode it. */
  readsRawMessage?: boolean;
}

/** Content types whose body is a binary Protobuf message (parameters stripped, lower case). */
const binaryContentTypes = new Set(["application/proto", "application/grpc", "application/grpc+proto", "application/grpc-web", "application/grpc-web+proto"]);

function isBinary(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const semi = contentType.indexOf(";");
  return binaryContentTypes.has((semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase());
}

/**
 * connect-node's adapter, plus one pass over each answer before it is written.
 *
 * Requests that fail to decode are refused by connect before any interceptor
 * runs, in ways a client should not see: an undecodable binary message is
 * `internal` (a server fault, and no retry policy knows what to do with it), and
 * a JSON decode error quotes the offending value, which may be a password. Here
 * both become `invalid_argument` with a message that names the field only.
 */
export function createRpcAdapter(options: RpcAdapterOptions): (req: NodeReq, res: NodeRes) => void {
  const router = createConnectRouter({ acceptCompression: [compressionGzip, compressionBrotli], ...options });
  options.routes(router);
  const paths = new Map(router.handlers.map((h) => [h.requestPath, h]));
  let binaryPaths: Map<string, UniversalHandler> | undefined;
  const fastPaths = new Map<string, GrpcUnaryFastPath>();
  if (options.binaryRpcs && options.binaryRpcs.length > 0) {
    const binaryRouter = createConnectRouter({ acceptCompression: [compressionGzip, compressionBrotli], ...options });
    for (const rpc of options.binaryRpcs) {
      binaryRouter.rpc(rpc.method, rpc.implementation as never);
      fastPaths.set(
        `/${rpc.method.parent.typeName}/${rpc.method.name}`,
        createGrpcUnaryFastPath({ ...rpc, interceptors: options.interceptors ?? [], readMaxBytes: options.readMaxBytes ?? 0xffffffff }),
      );
    }
    binaryPaths = new Map(binaryRouter.handlers.map((h) => [h.requestPath, h]));
  }
  const prechecks = new Map((options.jsonPrechecks ?? []).map((p) => [`/${p.method.parent.typeName}/${p.method.name}`, p.precheck]));
  const readMaxBytes = options.readMaxBytes ?? 0xffffffff;
  const noStore = options.noStorePrefixes ?? [];
  const capture = new Set(options.captureRawPaths ?? []);
  const run = (handler: UniversalHandler, path: string, req: NodeReq, res: NodeRes, values: ContextValues, body?: AsyncIterable<Uint8Array> | JsonObject) => {
    const uReq = universalRequestFromNodeRequest(req, res, undefined, values);
    if (body !== undefined) uReq.body = body;
    if (capture.has(path) && isByteStream(uReq.body)) {
      const holder: RawMessageHolder = {};
      values.set(rawMessageKey, holder);
      uReq.body = captureRawMessage(uReq.body, uReq.header.get("content-type") ?? "", uReq.header.get("content-encoding") ?? uReq.header.get("grpc-encoding"), holder);
    }
    handler(uReq)
      .then(async (uRes) => {
        if (noStore.some((p) => path.startsWith(p))) uRes.header?.set("cache-control", "no-store");
        return universalResponseToNodeResponse(await sanitize(uRes), res);
      })
      .catch((reason: unknown) => {
        if (ConnectError.from(reason).code === Code.Aborted) return;
        res.destroy();
      });
  };
  return (req, res) => {
    const path = req.url?.split("?", 1)[0] ?? "";
    const binary = binaryPaths !== undefined && isBinary(req.headers["content-type"]);
    const handler = (binary ? binaryPaths!.get(path) : undefined) ?? paths.get(path);
    if (!handler) {
      options.fallback(req, res);
      return;
    }
    const values = options.contextValues(req);
    const fast = binary && req.httpVersionMajor === 2 ? fastPaths.get(path) : undefined;
    if (fast) {
      fast(req as Http2ServerRequest, res as Http2ServerResponse, values, (body) => run(handler, path, req, res, values, body));
      return;
    }
    const prechecked = binary ? undefined : prechecks.get(path);
    if (prechecked !== undefined && isPlainJsonPost(req, readMaxBytes)) {
      bufferRequest(
        req,
        res,
        readMaxBytes,
        (body) => {
          let checked = false;
          try {
            checked = prechecked(body, values);
          } catch {
            // A fault of the check: connect reads the body, as for any other.
          }
          run(handler, path, req, res, values, checked ? emptyMessage : once(body));
        },
        (body) => run(handler, path, req, res, values, body),
      );
      return;
    }
    run(handler, path, req, res, values);
  };
}

// What connect reads as the message of a call whose body was prechecked: an
// empty JSON object, so it builds no message and reads no bytes.
const emptyMessage: JsonObject = Object.freeze({}) as JsonObject;

// A Connect unary POST with a JSON body that is not compressed and not
// declared larger than connect would read. Whatever else connect checks
// (content type parameters, protocol version, deadline) it still checks.
function isPlainJsonPost(req: NodeReq, readMaxBytes: number): boolean {
  if (req.method !== "POST") return false;
  const h = req.headers;
  const ct = h["content-type"];
  if (ct === undefined) return false;
  const semi = ct.indexOf(";");
  if ((semi < 0 ? ct : ct.slice(0, semi)).trim().toLowerCase() !== "application/json") return false;
  const encoding = h["content-encoding"];
  if (encoding !== undefined && encoding !== "identity") return false;
  const declared = Number(h["content-length"]);
  return !(declared > readMaxBytes);
}

function isByteStream(body: unknown): body is AsyncIterable<Uint8Array> {
  return typeof body === "object" && body !== null && Symbol.asyncIterator in body;
}

/** The code and message a client sees for a decode failure; undefined for other errors. */
export function sanitizeDecodeError(code: string, message: string): { code: string; message: string } | undefined {
  if (code === "internal" && /^(parse binary|received compressed envelope|protocol error)/.test(message)) {
    return { code: "invalid_argument", message: "the request body could not be decoded" };
  }
  // A unary call with no complete message, or two: the client's framing is wrong,
  // which is not an unimplemented method.
  if (code === "unimplemented" && /^protocol error: (missing input message|received extra input message)/.test(message)) {
    return { code: "invalid_argument", message: "a unary call carries exactly one complete message" };
  }
  if (code === "invalid_argument") {
    // protobuf-es: "cannot decode field a.b.C.password from JSON: <the value>"
    const m = /^(cannot decode (?:field|message) [\w.]+ from JSON)/.exec(message);
    if (m) return { code, message: m[1]! };
  }
  return undefined;
}

const grpcCodes: Record<string, string> = { "13": "internal", "3": "invalid_argument", "12": "unimplemented" };

async function sanitize(uRes: UniversalServerResponse): Promise<UniversalServerResponse> {
  const contentType = uRes.header?.get("content-type") ?? "";
  const body = uRes.body;
  if (body === undefined) return uRes;
  if (contentType.startsWith("application/grpc") && !contentType.startsWith("application/grpc-web") && uRes.trailer) {
    const trailer = uRes.trailer;
    // The status lands in the trailer once the body is done.
    const wrapped = (async function* () {
      yield* body;
      const fixed = sanitizeDecodeError(grpcCodes[trailer.get("grpc-status") ?? ""] ?? "", decodeURIComponent(trailer.get("grpc-message") ?? ""));
      if (fixed) {
        trailer.set("grpc-status", fixed.code === "invalid_argument" ? "3" : "13");
        trailer.set("grpc-message", encodeURIComponent(fixed.message));
      }
    })();
    return { ...uRes, body: wrapped };
  }
  if (contentType.startsWith("application/grpc-web")) {
    return { ...uRes, body: rewriteGrpcWebTrailer(body) };
  }
  if (uRes.status >= 400 && contentType.startsWith("application/json")) {
    // A Connect error: one small JSON object.
    const chunks: Uint8Array[] = [];
    for await (const c of body) chunks.push(c);
    const raw = Buffer.concat(chunks);
    let parsed: { code?: string; message?: string };
    try {
      parsed = JSON.parse(raw.toString("utf8")) as typeof parsed;
    } catch {
      return { ...uRes, body: once(raw) };
    }
    const fixed = sanitizeDecodeError(parsed.code ?? "", parsed.message ?? "");
    if (!fixed) return { ...uRes, body: once(raw) };
    const out = Buffer.from(JSON.stringify({ ...parsed, ...fixed }));
    uRes.header?.set("content-length", String(out.length));
    return { ...uRes, status: fixed.code === "invalid_argument" ? 400 : uRes.status, body: once(out) };
  }
  return uRes;
}

// gRPC-Web carries the status in a final frame of the body (flag 0x80).
async function* rewriteGrpcWebTrailer(body: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  for await (const chunk of body) {
    const buf = Buffer.from(chunk);
    let offset = 0;
    while (offset + 5 <= buf.length) {
      const len = buf.readUInt32BE(offset + 1);
      if (offset + 5 + len > buf.length) break;
      if ((buf[offset]! & 0x80) === 0x80) {
        const text = buf.subarray(offset + 5, offset + 5 + len).toString("latin1");
        const status = /grpc-status: *(\d+)/i.exec(text)?.[1] ?? "";
        const message = /grpc-message: *([^\r\n]*)/i.exec(text)?.[1] ?? "";
        const fixed = sanitizeDecodeError(grpcCodes[status] ?? "", decodeURIComponent(message));
        if (fixed) {
          const trailer = Buffer.from(`grpc-status: ${fixed.code === "invalid_argument" ? 3 : 13}\r\ngrpc-message: ${encodeURIComponent(fixed.message)}\r\n`, "latin1");
          const head = Buffer.alloc(5);
          head[0] = 0x80;
          head.writeUInt32BE(trailer.length, 1);
          yield Buffer.concat([buf.subarray(0, offset), head, trailer, buf.subarray(offset + 5 + len)]);
          return;
        }
      }
      offset += 5 + len;
    }
    yield chunk;
  }
}
