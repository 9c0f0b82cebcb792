import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import type { ConnectNodeAdapterOptions } from "@connectrpc/connect-node";
import { create, type DescMessage, type DescMethodUnary, type JsonReadOptions, type JsonWriteOptions } from "@bufbuild/protobuf";
import { Code, ConnectError, type ContextValues, type Interceptor } from "@connectrpc/connect";
import { compressionNegotiate, createMethodSerializationLookup, type Compression } from "@connectrpc/connect/protocol";
import { codeToHttpStatus, errorToJsonBytes, headerTimeout, parseContentType, trailerMux } from "@connectrpc/connect/protocol-connect";
import { createUnaryChain, unaryRequest, type UnaryImplementation } from "./unary-chain.js";

/** Options of {@link createConnectJsonUnary}: the method and the router's settings that shape its answer. */
export interface ConnectJsonUnaryOptions {
  method: DescMethodUnary<DescMessage, DescMessage>;
  /** Serves the call from what a precheck put in the context values; the message it gets is empty. */
  implementation: UnaryImplementation;
  /** The router's interceptors, run in the same order around the implementation. */
  interceptors: readonly Interceptor[];
  /** The router's JSON options (answers are written with them). */
  jsonOptions?: Partial<JsonReadOptions & JsonWriteOptions>;
  /** The router's response compressions, and the smallest answer it compresses. */
  acceptCompression: readonly Compression[];
  compressMinBytes: number;
}

type Fallback = NonNullable<ConnectNodeAdapterOptions["fallback"]>;
type NodeReq = Parameters<Fallback>[0];
type NodeRes = Parameters<Fallback>[1];

/**
 * Serves a Connect unary JSON call (HTTP/1.1 or HTTP/2) whose body a precheck
 * has already vouched for, without connect's generic handler: the same
 * interceptors, the same answer (status, `Content-Type`, headers and
 * `trailer-` headers, error JSON with its metadata as headers, compression of
 * answers past `compressMinBytes`), but none of its per-call machinery (an
 * AbortController and its DOMException, `Headers` conversions, async
 * iterables), which costs more CPU than checking a 200-event body, and
 * garbage that outlives young-generation collections under load.
 *
 * `serves` says which calls it answers as connect would: a POST whose content
 * type connect reads as unary JSON, with no deadline header (connect enforces
 * it). The caller hands the rest to connect.
 */
export function createConnectJsonUnary(options: ConnectJsonUnaryOptions): {
  serves(req: NodeReq): boolean;
  serve(req: NodeReq, res: NodeRes, values: ContextValues): void;
} {
  const { method, compressMinBytes } = options;
  const acceptCompression = [...options.acceptCompression];
  const url = `/${method.parent.typeName}/${method.name}`;
  const chain = createUnaryChain(method, options.implementation, options.interceptors);
  // Not a read limit: the body was read and checked before; answers are small.
  const output = createMethodSerializationLookup(method, undefined, options.jsonOptions, { readMaxBytes: 0xffffffff, writeMaxBytes: 0xffffffff }).getO(false);
  const empty = create(method.input);

  const serves = (req: NodeReq): boolean => {
    const h = req.headers;
    if (req.method !== "POST" || h[headerTimeout.toLowerCase()] !== undefined) return false;
    const type = parseContentType(h["content-type"] ?? null);
    return type !== undefined && !type.binary && !type.stream;
  };

  const serve = async (req: NodeReq, res: NodeRes, values: ContextValues): Promise<void> => {
    let status = 200;
    let header: Headers;
    let body: Uint8Array;
    try {
      const response = await chain(unaryRequest(method, url, req.headers, values, empty));
      body = output.serialize(response.message);
      response.header.set("content-type", "application/json");
      header = trailerMux(response.header, response.trailer);
    } catch (err) {
      const error = err instanceof ConnectError ? err : new ConnectError("internal error", Code.Internal, undefined, undefined, err);
      status = codeToHttpStatus(error.code);
      header = new Headers({ "content-type": "application/json" });
      error.metadata.forEach((value, key) => header.set(key, value));
      body = errorToJsonBytes(error, options.jsonOptions ?? {});
    }
    if (res.destroyed || res.writableEnded) return;
    const compression = compressionNegotiate(acceptCompression, null, acceptEncoding(req.headers), "Accept-Encoding");
    if (compression.response && body.byteLength >= compressMinBytes) {
      body = await compression.response.compress(body);
      header.set("content-encoding", compression.response.name);
    }
    header.set("content-length", String(body.byteLength));
    const head: Record<string, string> = {};
    header.forEach((value, key) => {
      head[key] = value;
    });
    (res as ServerResponse).writeHead(status, head);
    (res as ServerResponse).end(body);
  };

  return {
    serves,
    serve: (req, res, values) => {
      serve(req, res, values).catch(() => res.destroy());
    },
  };
}

function acceptEncoding(h: IncomingHttpHeaders): string | null {
  const v = h["accept-encoding"];
  return v === undefined ? null : v;
}
