import { createContextKey } from "@connectrpc/connect";
import type { Context } from "@opentelemetry/api";

/** What the request log line and metrics know about one request. */
export interface RequestInfo {
  /** From `x-request-id` when the client sent a usable one, else made here. */
  id: string;
  /** `rest`, `connect`, `grpc` or `grpc-web`. */
  protocol: string;
  /** The matched route or RPC path; `unmatched` otherwise (keeps metric labels bounded). */
  route: string;
  /** The client's address (from X-Forwarded-For only behind trusted proxies). */
  clientIp: string;
  /** The authenticated player, once known. */
  userId?: string;
  /** Connect/gRPC code of an RPC (`ok` or e.g. `invalid_argument`). */
  code?: string;
  /**
   * With tracing on, the context of the request's span, handed to the ingest
   * call explicitly (no AsyncLocalStorage: see `start-tracing.ts`).
   */
  traceContext?: Context;
}

const byRequest = new WeakMap<object, RequestInfo>();

/** Attaches `info` to a Node request object. */
export function setRequestInfo(req: object, info: RequestInfo): void {
  byRequest.set(req, info);
}

/** The info of a Node request object, if the observing handler saw it. */
export function requestInfoOf(req: object): RequestInfo | undefined {
  return byRequest.get(req);
}

/** The same info in a Connect handler's or interceptor's context values. */
export const requestInfoKey = createContextKey<RequestInfo | undefined>(undefined);

/** Which wire protocol a request speaks, from its content type. */
export function protocolOf(contentType: string | undefined, isRpcPath: boolean): string {
  if (!isRpcPath) return "rest";
  const ct = (contentType ?? "").toLowerCase();
  if (ct.startsWith("application/grpc-web")) return "grpc-web";
  if (ct.startsWith("application/grpc")) return "grpc";
  return "connect";
}

/**
 * The client's address: the socket's peer, or, behind `trustedHops` proxies that
 * each append to X-Forwarded-For, the entry those proxies saw. Entries further
 * left were written by the client and are not trusted.
 */
export function clientIpOf(remoteAddress: string | undefined, forwardedFor: string | string[] | undefined, trustedHops: number): string {
  const peer = remoteAddress ?? "unknown";
  if (trustedHops === 0 || forwardedFor === undefined) return peer;
  const list = (Array.isArray(forwardedFor) ? forwardedFor.join(",") : forwardedFor)
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  return list[list.length - trustedHops] ?? list[0] ?? peer;
}
