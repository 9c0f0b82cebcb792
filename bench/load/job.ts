import { LatencyHistogram, type HistogramJson } from "./histogram.js";
import { GrpcH2Session, grpcFrame } from "./grpc-h2.js";
import { H1Connection } from "./http1.js";
import { encodeBatchPb, idPlaceholder, placeholderOffsets, sampleBatch, writeEventIds, type EventIdFormat } from "./payloads.js";

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
  /** Requests in flight at once: HTTP/1.1 connections, or concurrent gRPC calls. */
  concurrency: number;
  /** HTTP/2 sessions the gRPC calls are spread over. @default min(8, concurrency) */
  sessions?: number;
  /** Load before measuring starts (JIT, connection set-up), not counted. */
  warmupMs: number;
  durationMs: number;
  /** Open-loop pace in requests/s; absent: as fast as the server answers. */
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
  /** Every success, warm-up and stragglers after the window included: what the server accepted. */
  okTotal: number;
  okEventsTotal: number;
  /** Outcome label -> count: HTTP status (`202`), `grpc:<code>`, or a transport error (`ECONNRESET`, `timeout`). */
  statuses: Record<string, number>;
  /** Latency of successful requests. */
  latency: HistogramJson;
  timeline: LoadSecond[];
  /** CPU time of the load process in the window (user + system). */
  cpuMs: number;
  /** Paced requests that left more than 10 ms after their slot (the generator could not keep the pace). */
  late: number;
  /** Bytes of one request body. */
  bodyBytes: number;
}

interface Template {
  bytes: Buffer;
  idOffsets: number[];
  authorization: string;
}

const ingestRpcPath = "/playsmart.ingest.v1.IngestService/IngestEvents";

/** The success label of a protocol. */
export function successLabel(protocol: LoadProtocol): string {
  return protocol === "rest" ? "202" : protocol === "connect-json" ? "200" : "grpc:0";
}

function buildTemplates(job: LoadJob): { templates: Template[]; bodyBytes: number } {
  const { host } = new URL(job.url);
  const now = Date.now();
  let bodyBytes = 0;
  const templates = job.players.map((p, i): Template => {
    const gameId = job.gameIds[i % job.gameIds.length]!;
    const batch = sampleBatch(p.userId, gameId, job.batchSize, i, now, () => (job.eventIds === "none" ? undefined : idPlaceholder));
    const authorization = `Bearer ${p.accessToken}`;
    let bytes: Buffer;
    if (job.protocol === "grpc") {
      bytes = grpcFrame(encodeBatchPb(batch));
      bodyBytes = bytes.length - 5;
    } else {
      const body = Buffer.from(JSON.stringify(batch));
      bodyBytes = body.length;
      const path = job.protocol === "rest" ? "/ingest/events" : ingestRpcPath;
      const extra = job.protocol === "connect-json" ? "connect-protocol-version: 1\r\n" : "";
      const head =
        `POST ${path} HTTP/1.1\r\nhost: ${host}\r\nauthorization: ${authorization}\r\n` +
        `content-type: application/json\r\n${extra}content-length: ${body.length}\r\n\r\n`;
      bytes = Buffer.concat([Buffer.from(head, "latin1"), body]);
    }
    return { bytes, idOffsets: placeholderOffsets(bytes), authorization };
  });
  return { templates, bodyBytes };
}

/**
 * Runs one job: `concurrency` lanes, each sending its next request when the
 * previous one is answered (closed loop), or at its paced slot when a rate is
 * set (open loop, so a slow server shows up as latency and `late`, not as a
 * quietly lower offered load). Every request carries fresh event ids.
 * `onWindowStart` is called when the measured window opens (after the warm-up).
 */
export async function runLoad(job: LoadJob, onWindowStart?: () => void): Promise<LoadResult> {
  const { templates, bodyBytes } = buildTemplates(job);
  if (templates.length === 0) throw new Error("load job without players");
  const success = successLabel(job.protocol);
  const target = new URL(job.url);
  const latency = new LatencyHistogram();
  const statuses: Record<string, number> = {};
  const timeline: LoadSecond[] = [];
  let ok = 0;
  let okTotal = 0;
  let completed = 0;
  let late = 0;
  let nextTemplate = 0;
  let slot = 0;

  const start = performance.now();
  const measureFrom = start + job.warmupMs;
  const stopAt = measureFrom + job.durationMs;
  const interval = job.ratePerSec ? 1000 / job.ratePerSec : 0;
  let cpuAtStart = process.cpuUsage();
  let cpuAtEnd: NodeJS.CpuUsage | undefined;
  const cpuStartTimer = setTimeout(() => {
    cpuAtStart = process.cpuUsage();
    onWindowStart?.();
  }, job.warmupMs);
  const cpuEndTimer = setTimeout(() => (cpuAtEnd = process.cpuUsage()), job.warmupMs + job.durationMs);

  const record = (sentAt: number, label: string) => {
    const now = performance.now();
    if (label === success) okTotal++;
    if (now < measureFrom || now >= stopAt) return;
    completed++;
    statuses[label] = (statuses[label] ?? 0) + 1;
    const second = Math.floor((now - measureFrom) / 1000);
    const bucket = (timeline[second] ??= { second, ok: 0, statuses: {} });
    bucket.statuses[label] = (bucket.statuses[label] ?? 0) + 1;
    if (label === success) {
      ok++;
      bucket.ok++;
      latency.record((now - sentAt) * 1000);
    }
  };

  const nextRequest = (): Template => templates[nextTemplate++ % templates.length]!;
  const freshCopy = (t: Template): Buffer => {
    const buf = Buffer.allocUnsafe(t.bytes.length);
    t.bytes.copy(buf);
    writeEventIds(buf, t.idOffsets, job.eventIds);
    return buf;
  };

  const sessions = job.protocol === "grpc"
    ? Array.from({ length: Math.max(1, job.sessions ?? Math.min(8, job.concurrency)) }, () => new GrpcH2Session(job.url))
    : [];
  const connections: H1Connection[] = [];

  const lane = (index: number) =>
    new Promise<void>((resolve) => {
      const h1 = job.protocol === "grpc" ? undefined : new H1Connection(target.hostname, Number(target.port));
      if (h1) connections.push(h1);
      const h2 = sessions[index % Math.max(1, sessions.length)];
      const send = () => {
        if (performance.now() >= stopAt) return resolve();
        const t = nextRequest();
        const sentAt = performance.now();
        const after = (err: Error | null, label: string) => {
          record(sentAt, err ? err.message : label);
          // A refused or reset connection would otherwise spin; back off a little.
          if (err) setTimeout(issue, 10);
          else issue();
        };
        // A refusal without Retry-After breaks the contract: count it apart.
        const h1Label = (status: number, retryAfter: boolean) =>
          (status === 429 || status === 503) && !retryAfter ? `${status}-no-retry-after` : String(status);
        if (h1) h1.send(freshCopy(t), (err, status, retryAfter) => after(err, h1Label(status, retryAfter)));
        else h2!.call(ingestRpcPath, t.authorization, freshCopy(t), after);
      };
      const issue = () => {
        const now = performance.now();
        if (now >= stopAt) return resolve();
        if (interval > 0) {
          const due = start + slot++ * interval;
          if (due > now + 0.5) {
            setTimeout(send, due - now);
            return;
          }
          if (now - due > 10) late++;
        }
        send();
      };
      issue();
    });

  await Promise.all(Array.from({ length: job.concurrency }, (_, i) => lane(i)));
  clearTimeout(cpuStartTimer);
  clearTimeout(cpuEndTimer);
  const cpuEnd = cpuAtEnd ?? process.cpuUsage();
  for (const c of connections) c.close();
  for (const s of sessions) s.close();
  for (let s = 0; s < timeline.length; s++) timeline[s] ??= { second: s, ok: 0, statuses: {} };
  const okEvents = ok * job.batchSize;
  return {
    elapsedMs: job.durationMs,
    completed,
    ok,
    okEvents,
    okTotal,
    okEventsTotal: okTotal * job.batchSize,
    statuses,
    latency: latency.toJSON(),
    timeline,
    cpuMs: (cpuEnd.user - cpuAtStart.user + cpuEnd.system - cpuAtStart.system) / 1000,
    late,
    bodyBytes,
  };
}
