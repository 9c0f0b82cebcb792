import type { IncomingHttpHeaders } from "node:http";
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, propagation, trace, type Context, type Span } from "@opentelemetry/api";
import { spanAttr, tracer } from "../tracing/tracer.js";
import type { RequestInfo } from "./request-info.js";

/** A request's span, and the context that makes it the parent of the append. */
export interface RequestSpan {
  span: Span;
  context: Context;
}

/**
 * Starts the SERVER span of one request, as the child of the caller's W3C
 * `traceparent` when it sent one (REST, Connect, gRPC and gRPC-Web all carry
 * it as a header). Named by method and route (bounded: unknown paths are
 * `unmatched`); no header, query or body value becomes an attribute.
 */
export function startRequestSpan(method: string, headers: IncomingHttpHeaders, info: RequestInfo): RequestSpan {
  const parent = propagation.extract(ROOT_CONTEXT, headers);
  const isRpc = info.protocol !== "rest";
  const span = tracer().startSpan(
    isRpc ? info.route.slice(1) : `${method} ${info.route}`,
    {
      kind: SpanKind.SERVER,
      attributes: {
        "http.request.method": method,
        "http.route": info.route,
        [spanAttr.protocol]: info.protocol,
        [spanAttr.requestId]: info.id,
        ...(isRpc ? { "rpc.system": info.protocol === "connect" ? "connect_rpc" : "grpc" } : {}),
      },
    },
    parent,
  );
  return { span, context: trace.setSpan(parent, span) };
}

/** Ends a request's span with its outcome: HTTP status and, for an RPC, its code. */
export function endRequestSpan(span: Span, info: RequestInfo, status: number): void {
  span.setAttribute("http.response.status_code", status);
  if (info.code !== undefined) span.setAttribute("rpc.response.status_code", info.code);
  // A client's mistake (4xx, invalid_argument) is not the server's error.
  const failed = status >= 500 || (info.code !== undefined && ["internal", "unavailable", "unknown", "data_loss"].includes(info.code));
  if (failed) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}
