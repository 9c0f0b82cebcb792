import type { HistogramJson } from "./histogram.js";
import type { EventIdFormat } from "./payloads.js";

/** How requests travel: REST JSON over HTTP/1.1, Connect JSON over HTTP/1.1, or gRPC binary over h2c. */
export type LoadProtocol = "rest" | "connect-json" | "grpc";

/** A registered player the load speaks for. */
export interface LoadPlayer {
  userId: string;
  accessToken: string;
}

/** One load run, sent to the load process over IPC. */
export interface LoadJob {
  protocol: LoadProtocol;
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  url: string;
  players: LoadPlayer[];
  gameIds: string[];
  batchSize: number;
  eventIds: EventIdFormat;
  /**
   * Every request carries new events, over all players (autocannon, HTTP/1.1
   * only): for loads that reach a worker, which would store a repeated batch
   * once. Without it one body is sent again and again (h2load): the gateway
   * does the same work for it, and the C client leaves the cores to the server.
   */
  freshEvents?: boolean;
  /** Requests in flight at once: HTTP/1.1 connections, or concurrent gRPC calls. */
  concurrency: number;
  /** HTTP/2 connections the gRPC calls are spread over. @default min(8, concurrency) */
  sessions?: number;
  /** Load before measuring starts (JIT, connection set-up), not counted. */
  warmupMs: number;
  durationMs: number;
  /** Pace in requests/s; absent: as fast as the server answers. */
  ratePerSec?: number;
}

/** One second of a run (completions in that second of the measured window). */
export interface LoadSecond {
  second: number;
  ok: number;
  statuses: Record<string, number>;
}

/** What a load run measured. */
export interface LoadResult {
  /** Length of the measured window. */
  elapsedMs: number;
  /** Requests completed in the window, any outcome. */
  completed: number;
  /** Requests answered with the protocol's success. */
  ok: number;
  /** Events in those requests. */
  okEvents: number;
  /**
   * With autocannon, every success, warm-up and stragglers after the window
   * included: what the server accepted. h2load logs the window only: `ok`.
   */
  okTotal: number;
  okEventsTotal: number;
  /** Outcome label -> count: HTTP status (`202`), `<status>-no-retry-after`, or a transport error. */
  statuses: Record<string, number>;
  /** Latency of successful requests. */
  latency: HistogramJson;
  timeline: LoadSecond[];
  /** CPU time of the load client in the window (user + system). */
  cpuMs: number;
  /** Requests a paced run sent fewer than its rate asked for (the client or server could not keep the pace). */
  late: number;
  /** Bytes of one request body. */
  bodyBytes: number;
}

/** The RPC every gRPC and Connect load calls. */
export const ingestRpcPath = "/playsmart.ingest.v1.IngestService/IngestEvents";

/**
 * The success label of a protocol. gRPC answers its errors with HTTP 200 too;
 * h2load sees only that, so the ingest scenarios also read the gateway's
 * outcome counters and count every refused batch as an error.
 */
export function successLabel(protocol: LoadProtocol): string {
  return protocol === "rest" ? "202" : "200";
}

/** The request path and headers (authorization aside) of a protocol. */
export function requestShape(protocol: LoadProtocol): { path: string; headers: Record<string, string> } {
  if (protocol === "rest") return { path: "/ingest/events", headers: { "content-type": "application/json" } };
  if (protocol === "connect-json") return { path: ingestRpcPath, headers: { "content-type": "application/json", "connect-protocol-version": "1" } };
  return { path: ingestRpcPath, headers: { "content-type": "application/grpc", te: "trailers" } };
}
