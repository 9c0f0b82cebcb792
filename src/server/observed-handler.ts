import type { Logger } from "../logger.js";
import { uuidV7 } from "../stream/uuid-v7.js";
import { tracingActive } from "../tracing/tracer.js";
import type { DualHandler } from "./one-port-server.js";
import { clientIpOf, protocolOf, setRequestInfo, type RequestInfo } from "./request-info.js";
import { endRequestSpan, startRequestSpan } from "./request-span.js";

/** Called once per finished request, e.g. to count it in metrics. */
export type RequestObserver = (info: RequestInfo, status: number, seconds: number) => void;

/** Options of {@link createObservedHandler}. */
export interface ObservedHandlerOptions {
  handler: DualHandler;
  log: Logger;
  /** Paths the service knows (REST routes and RPC paths); others log as `unmatched`. */
  knownRoutes: ReadonlySet<string>;
  observers?: RequestObserver[];
  /** TRUSTED_PROXY_HOPS. @default 0 */
  trustedProxyHops?: number;
}

// A client-chosen id goes into logs verbatim, so only short, plain ones are kept.
const usableId = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Wraps the request handler with a request id (taken from `x-request-id` or made,
 * and returned in the response) and one structured log line per request: route,
 * protocol, status, code, duration and user id, never a header or body value;
 * with tracing on, a span per request too.
 */
export function createObservedHandler(options: ObservedHandlerOptions): DualHandler {
  const { handler, log, knownRoutes } = options;
  const observers = options.observers ?? [];
  return (req, res) => {
    const started = process.hrtime.bigint();
    const sent = req.headers["x-request-id"];
    const id = typeof sent === "string" && usableId.test(sent) ? sent : uuidV7();
    const path = (req.url ?? "/").split("?", 1)[0]!;
    const route = knownRoutes.has(path) ? path : "unmatched";
    const isRpc = path.lastIndexOf("/") > 0 && path.includes(".") && !path.startsWith("/.well-known/");
    const info: RequestInfo = {
      id,
      route,
      protocol: protocolOf(req.headers["content-type"], isRpc),
      clientIp: clientIpOf(req.socket?.remoteAddress, req.headers["x-forwarded-for"], options.trustedProxyHops ?? 0),
    };
    setRequestInfo(req, info);
    res.setHeader("x-request-id", id);
    const traced = tracingActive() ? startRequestSpan(req.method ?? "GET", req.headers, info) : undefined;
    if (traced) info.traceContext = traced.context;
    res.once("close", () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const status = res.statusCode;
      if (traced) endRequestSpan(traced.span, info, status);
      for (const observe of observers) observe(info, status, seconds);
      log.info(
        {
          reqId: id,
          method: req.method,
          route,
          protocol: info.protocol,
          status,
          code: info.code,
          userId: info.userId,
          durationMs: Math.round(seconds * 1e4) / 10,
        },
        "request",
      );
    });
    handler(req, res);
  };
}
