import { fileURLToPath } from "node:url";
import type { Redis } from "ioredis";
import { consumerGroup } from "../../src/stream/stream-keys.js";
import type { Bench } from "../context.js";
import type { Child } from "../lib/child-process.js";
import { scalar, settleInnodb, truncateDrainTables } from "../lib/mysql-tools.js";
import { bucketQuantile, buckets, scrape, total } from "../lib/prometheus.js";
import { pendingCount, streamLength } from "../lib/redis-tools.js";
import { newRow, setCpu, type Row } from "../row.js";
import { prefillStream, type Prefill } from "../setup/prefill.js";

const rawDrain = fileURLToPath(new URL("../baselines/raw-drain.ts", import.meta.url));

/** Remaining entries at one moment of a drain. */
interface DrainSample {
  atMs: number;
  remaining: number;
}

/** When draining started and ended, as seen from Redis. */
interface DrainTiming {
  /** First moment an entry was pending or gone. */
  startMs: number;
  /** First moment the streams were empty; undefined on timeout. */
  endMs: number | undefined;
  samples: DrainSample[];
  /**
   * First poll at least the warm-up after startMs with every drainer ready, and
   * the entries left then (undefined if the streams emptied before).
   */
  measuredFromMs: number | undefined;
  remainingWhenMeasured: number | undefined;
}

/**
 * Polls the streams every 50 ms from before the drainers start: draining began
 * when the first entry went pending (or vanished), and ended when the streams
 * were empty (both the worker and the raw drain delete what they acknowledge).
 * Timing from Redis, not from the processes' readiness, so start-up is excluded.
 * `allReady` turns true once every drainer process has started. The drain is
 * measured from the first poll `warmupMs` after the start with all of them up:
 * like an ingest scenario's warm-up, this leaves out process start-up, the
 * JIT's first batches and, with two workers, the shard handover as the second
 * joins (under a second: the first worker sheds after the batch in hand).
 */
async function watchDrain(
  redis: Redis,
  keys: readonly string[],
  group: string,
  initial: number,
  timeoutMs: number,
  warmupMs: number,
  allReady: () => boolean,
): Promise<DrainTiming> {
  const samples: DrainSample[] = [];
  let startMs: number | undefined;
  let measuredFromMs: number | undefined;
  let remainingWhenMeasured: number | undefined;
  const until = performance.now() + timeoutMs;
  let lastSample = -Infinity;
  for (;;) {
    const now = performance.now();
    const remaining = await streamLength(redis, keys);
    if (startMs === undefined && (remaining < initial || (await pendingCount(redis, keys, group)) > 0)) startMs = now;
    if (measuredFromMs === undefined && startMs !== undefined && now - startMs >= warmupMs && remaining > 0 && allReady()) {
      measuredFromMs = now;
      remainingWhenMeasured = remaining;
    }
    if (startMs !== undefined && now - lastSample >= 1000) {
      samples.push({ atMs: now - startMs, remaining });
      lastSample = now;
    }
    if (remaining === 0) {
      samples.push({ atMs: now - (startMs ?? now), remaining });
      return { startMs: startMs ?? now, endMs: now, samples, measuredFromMs, remainingWhenMeasured };
    }
    if (now > until) return { startMs: startMs ?? now, endMs: undefined, samples, measuredFromMs, remainingWhenMeasured };
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function ensureMaster(bench: Bench): Promise<Prefill> {
  if (bench.master) return bench.master;
  const o = bench.options;
  process.stderr.write(`  pre-filling ${o.drainEvents.toLocaleString("en-US")} events (${o.drainBatch} per entry, ${o.drainUsers} players)...\n`);
  bench.master = await prefillStream(bench.redis, {
    keyOfShard: (s) => `${bench.prefix}:bench:master:{${s}}`,
    shards: bench.shards,
    events: o.drainEvents,
    batchSize: o.drainBatch,
    users: o.drainUsers,
    gameIds: bench.games.map((g) => g.gameId),
    eventIds: o.eventIds,
  });
  process.stderr.write(`  pre-filled ${bench.master.entries} entries in ${bench.master.seconds.toFixed(1)} s\n`);
  return bench.master;
}

/**
 * Work run beside a drain (`drain-beside.ts`): rows of players named
 * `side-...` stored before it (the drain's checks leave them out), extra
 * worker settings, and a job started with the drain and awaited after it.
 */
export interface DrainSideJob {
  /** After the tables are emptied, before the drain. */
  prepare(pool: NonNullable<Bench["pool"]>): Promise<void>;
  /** More environment of the worker processes. */
  workerEnv?: Record<string, string>;
  /** Starts the job as the workers start; the returned function waits for its end and reports it. */
  start?(): Promise<() => Promise<{ notes: string[]; details: Record<string, unknown> }>>;
}

/** How {@link runDrainScenario} treats the tables. */
export interface DrainRunOptions {
  side?: DrainSideJob;
  /**
   * Keep the tables and what earlier drains stored, drain a new pre-fill (new
   * players and event ids), and let InnoDB flush as it would under a steady
   * load instead of settling it first (`drain-curve`). Stored events and coins
   * are then checked against the worker's own counters, since counting a table
   * of millions of rows each time would take longer than the drain.
   */
  grow?: boolean;
}

/**
 * A drain scenario: the same pre-filled entries (copied from a master stream
 * with COPY, so every drain sees identical data) drained into empty tables by
 * `workers` processes: the service's worker role, or the raw drain baseline.
 * Checks afterwards that every event is stored once and, for the service, that
 * every LevelCompleted paid its coins once.
 */
export async function runDrainScenario(bench: Bench, name: string, workers: number, baseline: boolean, options: DrainRunOptions = {}): Promise<Row> {
  const { side, grow = false } = options;
  const row = newRow(name);
  const pool = bench.pool;
  if (!pool) {
    row.failures.push("needs the bench's own service (not --target)");
    return row;
  }
  if (grow && bench.master) {
    for (const k of bench.master.keys) await bench.redis.unlink(k);
    bench.master = undefined;
  }
  const master = await ensureMaster(bench);
  if (!grow) await truncateDrainTables(pool);
  await side?.prepare(pool);
  const settled = grow ? undefined : await settleInnodb(pool);
  if (settled) {
    process.stderr.write(
      `  InnoDB settled in ${settled.seconds.toFixed(1)} s (dirty pages ${settled.dirtyPagesBefore} -> ${settled.dirtyPagesAfter}, checkpoint age ${mb(settled.checkpointAgeBefore)} -> ${mb(settled.checkpointAgeAfter)} MB)\n`,
    );
  }
  const keys = baseline ? master.keys.map((_, s) => `${bench.prefix}:bench:raw:{${s}}`) : bench.streamKeys;
  for (let s = 0; s < keys.length; s++) {
    await bench.redis.del(keys[s]!);
    await bench.redis.call("COPY", master.keys[s]!, keys[s]!);
  }
  const group = baseline ? "raw" : consumerGroup;
  const readCount = bench.options.serviceEnv.WORKER_READ_COUNT ?? "100";

  let started = false;
  const timing = watchDrain(bench.redis, keys, group, master.entries, bench.options.drainTimeoutMs, bench.options.warmupMs, () => started);
  const children: Child[] = await Promise.all(
    Array.from({ length: workers }, (_, i) =>
      baseline
        ? bench.startScript(`${name}-${i + 1}`, rawDrain, {
            REDIS_URL: bench.options.redisUrl,
            MYSQL_URL: bench.mysqlUrl,
            STREAM_KEYS: keys.join(","),
            GROUP: group,
            CONSUMER: `raw-${i + 1}`,
            READ_COUNT: readCount,
          }, () => ({ line: "ready" }))
        : bench.startService(`${name}-${i + 1}`, "worker", { WORKER_CONSUMER_NAME: `bench-${name}-${i + 1}`, ...side?.workerEnv }),
    ),
  );
  const sideDone = await side?.start?.();
  started = true;
  const watch = bench.watch({ svc: children.map((c) => c.pid) }).start();
  const { startMs, endMs, samples, measuredFromMs, remainingWhenMeasured } = await timing;
  const usage = watch.stop();
  const sideReport = await sideDone?.();
  const metrics = baseline ? [] : await Promise.all(children.map((c) => scrape(`${c.url}/metrics`)));
  await Promise.all(children.map((c) => c.stop()));

  // Timed after the warm-up (see watchDrain); a drain over before it ends (a
  // --quick run) is timed whole.
  const warmedUp = measuredFromMs !== undefined && remainingWhenMeasured !== undefined;
  const fromMs = warmedUp ? measuredFromMs : startMs;
  const fromEntries = warmedUp ? remainingWhenMeasured : master.entries;
  const lastMs = endMs ?? performance.now();
  const leftAtEnd = samples.at(-1)?.remaining ?? master.entries;
  const eventsOf = (entries: number) => Math.round((entries / master.entries) * master.events);
  const seconds = (lastMs - fromMs) / 1000;
  row.eventsPerSec = eventsOf(fromEntries - leftAtEnd) / seconds;
  const wholeEventsPerSec = eventsOf(master.entries - leftAtEnd) / ((lastMs - startMs) / 1000);
  setCpu(row, usage);
  row.loadCpuPct = undefined; // no load process in a drain (it idles)
  if (endMs === undefined) row.failures.push(`not drained within ${bench.options.drainTimeoutMs / 1000} s`);

  // Speed at the start and at the end: a table outgrowing the buffer pool shows here.
  const rate = (from: DrainSample | undefined, to: DrainSample | undefined) =>
    from && to && to.atMs > from.atMs ? ((from.remaining - to.remaining) / master.entries) * master.events / ((to.atMs - from.atMs) / 1000) : undefined;
  const fifth = Math.max(1, Math.floor(samples.length / 5));
  const first = rate(samples[0], samples[fifth]);
  const last = rate(samples[samples.length - 1 - fifth], samples.at(-1));
  row.notes.push(`${workers} ${baseline ? "raw drain" : "worker"} process${workers > 1 ? "es" : ""}, ${master.events.toLocaleString("en-US")} events in ${(((endMs ?? performance.now()) - startMs) / 1000).toFixed(1)} s`);
  if (warmedUp) {
    row.notes.push(
      `timed after a ${((fromMs - startMs) / 1000).toFixed(1)} s warm-up (${eventsOf(master.entries - fromEntries).toLocaleString("en-US")} events); whole drain ${Math.round(wholeEventsPerSec).toLocaleString("en-US")} ev/s`,
    );
  }
  if (first !== undefined && last !== undefined) row.notes.push(`first/last fifth ${Math.round(first).toLocaleString("en-US")}/${Math.round(last).toLocaleString("en-US")} ev/s`);

  if (sideReport) row.notes.push(...sideReport.notes);
  const counter = (name: string) => metrics.reduce((n, m) => n + total(m, name), 0);
  const stored = grow ? counter("playsmart_drain_events_stored_total") : await scalar(pool, "SELECT COUNT(*) FROM events WHERE user_id NOT LIKE 'side-%'");
  if (endMs !== undefined && stored !== master.events) row.failures.push(`stored ${stored} events of ${master.events}`);
  const details: Record<string, unknown> = { usage, samples, prefill: master, storedEvents: stored, seconds, timedFromMs: fromMs - startMs, wholeEventsPerSec, innodbSettle: settled };
  if (!baseline) {
    const expectedCoins = master.levelCompleted * (bench.games[0]?.coinsPerLevel ?? 0);
    if (grow) {
      const coins = counter("playsmart_drain_coins_awarded_total");
      if (endMs !== undefined && coins !== expectedCoins) row.failures.push(`coins: ${coins} awarded, expected ${expectedCoins}`);
      Object.assign(details, { coins, expectedCoins });
    } else {
      const ledger = await scalar(pool, "SELECT COUNT(*) FROM coin_ledger WHERE user_id NOT LIKE 'side-%'");
      const coins = await scalar(pool, "SELECT COALESCE(SUM(balance), 0) FROM wallets WHERE user_id NOT LIKE 'side-%'");
      if (endMs !== undefined && (ledger !== master.levelCompleted || coins !== expectedCoins)) {
        row.failures.push(`coins: ${ledger} ledger rows / ${coins} coins, expected ${master.levelCompleted} / ${expectedCoins}`);
      }
      Object.assign(details, { ledgerRows: ledger, coins, expectedCoins });
    }
    const commits = metrics.reduce((n, m) => n + total(m, "playsmart_drain_commit_duration_seconds_count"), 0);
    const commitBuckets = new Map<number, number>();
    for (const m of metrics) for (const [le, n] of buckets(m, "playsmart_drain_commit_duration_seconds")) commitBuckets.set(le, (commitBuckets.get(le) ?? 0) + n);
    const p50 = bucketQuantile(commitBuckets, 0.5);
    const p99 = bucketQuantile(commitBuckets, 0.99);
    const dead = metrics.reduce((n, m) => n + total(m, "playsmart_drain_dead_letters_total"), 0);
    if (dead > 0) row.failures.push(`${dead} entries dead-lettered`);
    row.notes.push(`${commits} tx, tx p50/p99 ~${ms(p50)}/${ms(p99)} ms`);
    Object.assign(details, { commits, commitP50s: p50, commitP99s: p99, deadLetters: dead });
  }
  if (sideReport) details.side = sideReport.details;
  row.details = details;
  return row;
}

function mb(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(0);
}

function ms(seconds: number | undefined): string {
  return seconds === undefined ? "-" : String(Math.round(seconds * 1000));
}
