import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import type { JsonObject } from "@bufbuild/protobuf";
import { IngestService } from "../../../gen/playsmart/ingest/v1/ingest_pb.js";
import { faultGames } from "./fault-games.js";

/**
 * A known workload for fault tests: clients that send batches with
 * client-chosen event ids (so every expectation can be computed), and behave
 * like a well-written game client: a batch is resent with the same ids after a
 * 503 / UNAVAILABLE, a 429 / RESOURCE_EXHAUSTED, a timeout or a broken
 * connection (honouring Retry-After, failing over to another gateway when
 * several are given) until it is answered 202 / OK. Every attempt is recorded
 * with its outcome and latency.
 */

/** A player the clients send for. */
export interface LoadPlayer {
  userId: string;
  accessToken: string;
}

/** A gateway to send to. `url` is read at each attempt, so a target can move. */
export interface LoadTarget {
  name: string;
  url: string;
}

/** One event of a planned batch, in the JSON contract. */
export interface PlannedEvent {
  type: string;
  timestamp: string;
  event_id: string;
  customdata?: JsonObject;
  customEventName?: string;
}

/** A batch the load generated; it is sent until accepted. */
export interface PlannedBatch {
  key: string;
  userId: string;
  gameId: string;
  events: PlannedEvent[];
}

/** `rest`: POST /ingest/events (fetch); `grpc`: IngestService over gRPC (connect-node, HTTP/2). */
export type Protocol = "rest" | "grpc";

/**
 * - `accepted`: 202 / OK.
 * - `unavailable`: 503 / UNAVAILABLE answered by a gateway (with Retry-After).
 * - `rate_limited`: 429 / RESOURCE_EXHAUSTED.
 * - `network`: no answer (refused, reset, timed out).
 * - `server_error`: a 5xx other than 503, or INTERNAL / UNKNOWN / DATA_LOSS: never allowed.
 * - `rejected`: any other answer (400, 401, ...): never expected from this load.
 */
export type Outcome = "accepted" | "unavailable" | "rate_limited" | "network" | "server_error" | "rejected";

/** One request. */
export interface Attempt {
  /** Wall-clock start (Date.now()). */
  at: number;
  /** Latency in ms. */
  ms: number;
  target: string;
  protocol: Protocol;
  outcome: Outcome;
  /** Status and message, for failure reports. */
  detail: string;
}

/** What a load did. */
export interface LoadResult {
  generated: PlannedBatch[];
  accepted: PlannedBatch[];
  /** Batches never answered 202 before the stop deadline (a failure). */
  abandoned: PlannedBatch[];
  attempts: Attempt[];
  counts: Record<Outcome, number>;
  /** Events of accepted batches (each event id once). */
  eventsAccepted: number;
  /** Attempts beyond the first of each batch (and of its duplicate). */
  retries: number;
  /** Batches accepted a second time (sent twice on purpose, same event ids). */
  duplicatesAccepted: number;
}

/** A running load. */
export interface Load {
  /** Live view of the attempts so far. */
  readonly attempts: readonly Attempt[];
  /** Live count of accepted batches. */
  readonly acceptedBatches: number;
  /** Stops generating new batches; resolves once every batch generated is accepted (or `timeoutMs` passed). */
  stop(timeoutMs?: number): Promise<LoadResult>;
}

/** Options of {@link startLoad}. */
export interface LoadOptions {
  /** Prefix of every event id, unique per scenario. */
  tag: string;
  players: readonly LoadPlayer[];
  /** Client `i` starts on `targets[i % n]` and fails over to the next. */
  targets: readonly LoadTarget[];
  clients: number;
  /** Client `i` speaks `protocols[i % n]`. @default ["rest"] */
  protocols?: readonly Protocol[];
  /** @default 10 */
  eventsPerBatch?: number;
  /** Pause of each client between two batches. @default 50 */
  pauseMs?: number;
  /** Deadline of one attempt. @default 5000 */
  attemptTimeoutMs?: number;
  /**
   * Every n-th batch of a client is sent twice at once (the second copy to the
   * next target), like a client that resent while its first request was still
   * in flight: two stream entries with the same event ids. @default never
   */
  duplicateEvery?: number;
}

const eventPattern: Array<{ type: string; customEventName?: string }> = [
  { type: "LevelCompleted" },
  { type: "AppOpen" },
  { type: "LevelCompleted" },
  { type: "Custom", customEventName: "ChestOpened" },
  { type: "LevelCompleted" },
  { type: "GameEnd" },
  { type: "AdImpression" },
  { type: "LevelCompleted" },
  { type: "IAPPurchase" },
  { type: "LevelCompleted" },
];
const offsets = ["Z", "+01:00", "-05:00", "+05:30"];
const gameCycle = [faultGames.coins.gameId, faultGames.capped.gameId, faultGames.free.gameId];

/** The deterministic batch `seq` of client `client`. */
export function planBatch(tag: string, client: number, seq: number, player: LoadPlayer, eventsPerBatch: number): PlannedBatch {
  const key = `${tag}-c${client}-b${seq}`;
  const events: PlannedEvent[] = [];
  for (let i = 0; i < eventsPerBatch; i++) {
    const p = eventPattern[i % eventPattern.length]!;
    const second = String(i % 60).padStart(2, "0");
    const e: PlannedEvent = {
      type: p.type,
      timestamp: `2026-11-26T09:${String(seq % 60).padStart(2, "0")}:${second}.250${offsets[i % offsets.length]}`,
      event_id: `${key}-e${i}`,
    };
    if (p.type === "LevelCompleted") e.customdata = { level: seq * 100 + i, score: i * 10, tags: ["fault", tag] };
    if (p.customEventName) e.customEventName = p.customEventName;
    events.push(e);
  }
  return { key, userId: player.userId, gameId: gameCycle[(client + seq) % gameCycle.length]!, events };
}

/** What one attempt got. */
export interface AttemptResult {
  outcome: Outcome;
  detail: string;
  retryAfterMs: number;
}

/** One POST /ingest/events of `batch` to `url`, classified. */
export async function postBatch(url: string, player: LoadPlayer, batch: PlannedBatch, timeoutMs = 5000): Promise<AttemptResult> {
  let res: Response;
  try {
    res = await fetch(`${url}/ingest/events`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${player.accessToken}` },
      body: JSON.stringify({ user_id: batch.userId, game_id: batch.gameId, events: batch.events }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    return { outcome: "network", detail: describe(err), retryAfterMs: 0 };
  }
  let text = "";
  try {
    text = await res.text();
  } catch (err) {
    // Headers came, the body did not: the answer is unknown, like a lost connection.
    return { outcome: "network", detail: `${res.status} then ${describe(err)}`, retryAfterMs: 0 };
  }
  const retryAfterMs = Number(res.headers.get("retry-after") ?? "1") * 1000;
  const detail = `${res.status} ${text.slice(0, 200)}`;
  if (res.status === 202) {
    const body = JSON.parse(text) as { accepted?: number };
    if (body.accepted !== batch.events.length) return { outcome: "rejected", detail: `202 with accepted=${body.accepted}`, retryAfterMs };
    return { outcome: "accepted", detail: "202", retryAfterMs };
  }
  if (res.status === 503) return { outcome: "unavailable", detail, retryAfterMs };
  if (res.status === 429) return { outcome: "rate_limited", detail, retryAfterMs };
  if (res.status >= 500) return { outcome: "server_error", detail, retryAfterMs };
  return { outcome: "rejected", detail, retryAfterMs };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Starts `clients` clients sending until {@link Load.stop}. */
export function startLoad(options: LoadOptions): Load {
  const protocols = options.protocols ?? ["rest"];
  const eventsPerBatch = options.eventsPerBatch ?? 10;
  const pauseMs = options.pauseMs ?? 50;
  const attemptTimeoutMs = options.attemptTimeoutMs ?? 5000;
  const attempts: Attempt[] = [];
  const generated: PlannedBatch[] = [];
  const accepted: PlannedBatch[] = [];
  const abandoned: PlannedBatch[] = [];
  const acceptedKeys = new Set<string>();
  let duplicatesAccepted = 0;
  let stopping = false;
  let hardDeadline = Infinity;

  const grpcClients = new Map<string, Client<typeof IngestService>>();
  const grpcClientFor = (client: number, target: LoadTarget): Client<typeof IngestService> => {
    const id = `${client}|${target.url}`;
    let c = grpcClients.get(id);
    if (!c) {
      c = createClient(IngestService, createGrpcTransport({ baseUrl: target.url, idleConnectionTimeoutMs: 2000 }));
      grpcClients.set(id, c);
    }
    return c;
  };

  async function attemptGrpc(client: number, batch: PlannedBatch, player: LoadPlayer, target: LoadTarget): Promise<AttemptResult> {
    try {
      const res = await grpcClientFor(client, target).ingestEvents(
        {
          userId: batch.userId,
          gameId: batch.gameId,
          events: batch.events.map((e) => ({
            type: e.type,
            timestamp: e.timestamp,
            ...(e.customdata ? { customdata: e.customdata } : {}),
            customEventName: e.customEventName ?? "",
            eventId: e.event_id,
          })),
        },
        { headers: { authorization: `Bearer ${player.accessToken}` }, timeoutMs: attemptTimeoutMs },
      );
      if (res.accepted !== batch.events.length) return { outcome: "rejected", detail: `OK with accepted=${res.accepted}`, retryAfterMs: 0 };
      return { outcome: "accepted", detail: "OK", retryAfterMs: 0 };
    } catch (err) {
      const e = ConnectError.from(err);
      const detail = `${Code[e.code]} ${e.rawMessage.slice(0, 200)}`;
      const retryAfter = e.metadata.get("retry-after");
      const retryAfterMs = Number(retryAfter ?? "1") * 1000;
      switch (e.code) {
        case Code.Unavailable:
          // A gateway's own UNAVAILABLE carries retry-after; without it the
          // transport could not reach one (refused, reset).
          return { outcome: retryAfter !== null ? "unavailable" : "network", detail, retryAfterMs };
        case Code.ResourceExhausted:
          return { outcome: "rate_limited", detail, retryAfterMs };
        case Code.DeadlineExceeded:
        case Code.Canceled:
        case Code.Aborted: // connect-node's code for a connection reset mid-call (ECONNRESET)
          return { outcome: "network", detail, retryAfterMs: 0 };
        case Code.Internal:
        case Code.Unknown:
        case Code.DataLoss:
          return { outcome: "server_error", detail, retryAfterMs: 0 };
        default:
          return { outcome: "rejected", detail, retryAfterMs: 0 };
      }
    }
  }

  async function sendUntilAccepted(client: number, protocol: Protocol, batch: PlannedBatch, player: LoadPlayer, start: { target: number }): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (Date.now() > hardDeadline) {
        if (!abandoned.includes(batch)) abandoned.push(batch);
        return;
      }
      const target = options.targets[start.target % options.targets.length]!;
      const at = Date.now();
      const t0 = performance.now();
      const r = protocol === "rest" ? await postBatch(target.url, player, batch, attemptTimeoutMs) : await attemptGrpc(client, batch, player, target);
      attempts.push({ at, ms: performance.now() - t0, target: target.name, protocol, outcome: r.outcome, detail: r.detail });
      if (r.outcome === "accepted") {
        if (acceptedKeys.has(batch.key)) duplicatesAccepted++;
        else {
          acceptedKeys.add(batch.key);
          accepted.push(batch);
        }
        return;
      }
      if (r.outcome === "rejected") {
        // Not retryable: the load is wrong or the server is; the test fails on it.
        if (!abandoned.includes(batch)) abandoned.push(batch);
        return;
      }
      // Fail over to the next gateway when this one does not answer or is unavailable.
      if ((r.outcome === "network" || r.outcome === "unavailable") && options.targets.length > 1) start.target++;
      const wait =
        r.outcome === "unavailable" || r.outcome === "rate_limited"
          ? Math.min(Math.max(r.retryAfterMs, 100), 1000)
          : Math.min(50 * 2 ** Math.min(attempt, 4), 500);
      await sleep(wait);
    }
  }

  async function runClient(client: number): Promise<void> {
    const protocol = protocols[client % protocols.length]!;
    const start = { target: client % options.targets.length };
    for (let seq = 0; !stopping; seq++) {
      const player = options.players[(client + seq) % options.players.length]!;
      const batch = planBatch(options.tag, client, seq, player, eventsPerBatch);
      generated.push(batch);
      if (options.duplicateEvery && seq % options.duplicateEvery === options.duplicateEvery - 1) {
        // The same batch twice at once, the second to the next gateway: a
        // client that gave up waiting and resent while the first was in flight.
        await Promise.all([
          sendUntilAccepted(client, protocol, batch, player, start),
          sendUntilAccepted(client, protocol, batch, player, { target: start.target + 1 }),
        ]);
      } else {
        await sendUntilAccepted(client, protocol, batch, player, start);
      }
      if (!stopping) await sleep(pauseMs);
    }
  }

  const running = Promise.all(Array.from({ length: options.clients }, (_, i) => runClient(i)));

  return {
    attempts,
    get acceptedBatches() {
      return accepted.length;
    },
    async stop(timeoutMs = 20_000) {
      stopping = true;
      hardDeadline = Date.now() + timeoutMs;
      await running;
      const counts: Record<Outcome, number> = { accepted: 0, unavailable: 0, rate_limited: 0, network: 0, server_error: 0, rejected: 0 };
      for (const a of attempts) counts[a.outcome]++;
      return {
        generated,
        accepted,
        abandoned,
        attempts,
        counts,
        eventsAccepted: accepted.reduce((n, b) => n + b.events.length, 0),
        duplicatesAccepted,
        retries: attempts.length - generated.length - duplicatesAccepted,
      };
    },
  };
}

/** The `q` quantile (0..1) of `values`, nearest rank; 0 for none. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message}: ${cause.message}` : err.message;
  }
  return String(err);
}
