import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { IngestOutcome } from "../ingest/ingest-batches.js";
import type { StreamGaugeReading } from "../stream/stream-gauges.js";
import type { RequestInfo } from "../server/request-info.js";

/** One committed drain transaction, as the metrics see it. */
export interface CommitObservation {
  entries: number;
  eventsStored: number;
  coinsAwarded: bigint;
  commitSeconds: number;
  /** Seconds from the gateway's 202 to this commit, one per entry. */
  lagSeconds: number[];
  /** Events of erased players dropped instead of stored. */
  eventsDropped: number;
}

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  /** Reads stream length and pending entries per shard when scraped. */
  readStreams?: () => Promise<StreamGaugeReading[]>;
  /** Add Node's process metrics (CPU, memory, event loop lag, GC). @default true */
  processMetrics?: boolean;
}

/** Every metric of the service, in one registry. */
export interface Metrics {
  registry: Registry;
  /** Counts a finished HTTP/RPC request (wire into the observed handler). */
  observeRequest(info: RequestInfo, status: number, seconds: number): void;
  /** Counts an ingest attempt and its events. */
  observeIngest(outcome: IngestOutcome, events: number): void;
  /** Times one stream append. */
  observeAppend(seconds: number): void;
  /** Counts one committed drain transaction. */
  observeCommit(commit: CommitObservation): void;
  /** Counts entries moved to the dead letters. */
  observeDeadLetters(count: number): void;
  /** Counts events removed by retention. */
  observeRetention(eventsDeleted: number): void;
}

const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const lagBuckets = [0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 30, 60];

/**
 * Creates the registry (served at `GET /metrics`). Names follow Prometheus
 * conventions: `playsmart_` prefix, `_total` counters, base units (seconds).
 */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: "playsmart_" });

  const requests = new Counter({
    name: "playsmart_requests_total",
    help: "Finished requests by route, protocol, HTTP status and Connect/gRPC code.",
    labelNames: ["route", "protocol", "status", "code"] as const,
    registers: [registry],
  });
  const requestSeconds = new Histogram({
    name: "playsmart_request_duration_seconds",
    help: "Request duration by route and protocol.",
    labelNames: ["route", "protocol"] as const,
    buckets: latencyBuckets,
    registers: [registry],
  });
  const batches = new Counter({
    name: "playsmart_ingest_batches_total",
    help: "Ingest batches by outcome.",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  const events = new Counter({
    name: "playsmart_ingest_events_total",
    help: "Events in ingest batches by outcome (accepted, or the reason they were refused).",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  const batchSize = new Histogram({
    name: "playsmart_ingest_batch_size",
    help: "Events per accepted batch.",
    buckets: [1, 2, 5, 10, 20, 50, 100, 150, 200],
    registers: [registry],
  });
  const appendSeconds = new Histogram({
    name: "playsmart_stream_append_duration_seconds",
    help: "Time for one XADD of a batch to be acknowledged by Redis.",
    buckets: latencyBuckets,
    registers: [registry],
  });
  const drainEntries = new Histogram({
    name: "playsmart_drain_batch_entries",
    help: "Stream entries per committed drain transaction.",
    buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000],
    registers: [registry],
  });
  const commitSeconds = new Histogram({
    name: "playsmart_drain_commit_duration_seconds",
    help: "Time of one drain transaction, first statement to commit.",
    buckets: latencyBuckets,
    registers: [registry],
  });
  const eventsStored = new Counter({
    name: "playsmart_drain_events_stored_total",
    help: "Events newly stored in MySQL.",
    registers: [registry],
  });
  const coinsAwarded = new Counter({
    name: "playsmart_drain_coins_awarded_total",
    help: "Coins awarded by committed ledger rows.",
    registers: [registry],
  });
  const lag = new Histogram({
    name: "playsmart_ingest_to_commit_lag_seconds",
    help: "Time from the gateway's 202 to the MySQL commit of the batch.",
    buckets: lagBuckets,
    registers: [registry],
  });
  const deadLetters = new Counter({
    name: "playsmart_drain_dead_letters_total",
    help: "Stream entries moved to the dead letters.",
    registers: [registry],
  });
  const erasedDropped = new Counter({
    name: "playsmart_drain_erased_events_dropped_total",
    help: "Events of erased players dropped by the drain (queued before the erasure, or sent with an older token).",
    registers: [registry],
  });
  const retentionDeleted = new Counter({
    name: "playsmart_retention_events_deleted_total",
    help: "Events removed by retention (EVENTS_RETENTION_DAYS).",
    registers: [registry],
  });
  if (options.readStreams) {
    const readStreams = options.readStreams;
    // One Redis round trip per scrape feeds the three gauges: the registry
    // collects them at once, so they share the read in flight. (Filled by one
    // gauge's collect, the other two showed the previous scrape's values.)
    let inFlight: Promise<StreamGaugeReading[] | undefined> | undefined;
    const reading = () =>
      (inFlight ??= readStreams()
        // Redis down: the gauges are absent from this scrape rather than wrong.
        .catch(() => undefined)
        .finally(() => {
          inFlight = undefined;
        }));
    const shardGauge = (name: string, help: string, value: (r: StreamGaugeReading) => number, group?: string) =>
      new Gauge({
        name,
        help,
        labelNames: group === undefined ? ["shard"] : ["shard", "group"],
        registers: [registry],
        async collect() {
          this.reset();
          for (const r of (await reading()) ?? []) this.set(group === undefined ? { shard: String(r.shard) } : { shard: String(r.shard), group }, value(r));
        },
      });
    shardGauge("playsmart_stream_length", "Entries in the shard stream (pending and not yet read).", (r) => r.length);
    shardGauge("playsmart_stream_pending_entries", "Entries delivered to the workers' consumer group and not yet acknowledged.", (r) => r.pending, "workers");
    shardGauge("playsmart_shard_leased", "1 while a worker holds the shard's lease, 0 while none does (nothing drains it).", (r) => (r.leased ? 1 : 0));
  }

  return {
    registry,
    observeRequest(info, status, seconds) {
      requests.inc({ route: info.route, protocol: info.protocol, status: String(status), code: info.code ?? "" });
      requestSeconds.observe({ route: info.route, protocol: info.protocol }, seconds);
    },
    observeIngest(outcome, count) {
      batches.inc({ outcome });
      events.inc({ outcome }, count);
      if (outcome === "accepted") batchSize.observe(count);
    },
    observeAppend(seconds) {
      appendSeconds.observe(seconds);
    },
    observeCommit(c) {
      drainEntries.observe(c.entries);
      commitSeconds.observe(c.commitSeconds);
      eventsStored.inc(c.eventsStored);
      coinsAwarded.inc(Number(c.coinsAwarded));
      for (const s of c.lagSeconds) lag.observe(s);
      if (c.eventsDropped > 0) erasedDropped.inc(c.eventsDropped);
    },
    observeDeadLetters(count) {
      deadLetters.inc(count);
    },
    observeRetention(count) {
      retentionDeleted.inc(count);
    },
  };
}
