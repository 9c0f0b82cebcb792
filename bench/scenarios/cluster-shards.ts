import { randomUUID } from "node:crypto";
import { Cluster } from "ioredis";
import { encodeEntry } from "../../src/stream/stream-entry.js";
import { consumerGroup, shardOf, streamKey } from "../../src/stream/stream-keys.js";
import { uuidV7 } from "../../src/stream/uuid-v7.js";
import { startRedisCluster, type TestRedisCluster } from "../../test/helpers/redis-cluster.js";
import { onTearDown, type Bench } from "../context.js";
import type { Child } from "../lib/child-process.js";
import { scalar, truncateDrainTables } from "../lib/mysql-tools.js";
import { ProcWatch } from "../lib/proc-stats.js";
import { total, scrape } from "../lib/prometheus.js";
import { newEventId, sampleBatch } from "../load/payloads.js";
import { newRow, setCpu, type Row } from "../row.js";

/** One pre-generated stream entry: its player (for the shard) and its XADD fields. */
interface Entry {
  userId: string;
  fields: Array<string | Buffer>;
}

/** The entries every configuration drains (the same data each time). */
interface Dataset {
  entries: Entry[];
  events: number;
  levelCompleted: number;
}

/**
 * The drain pre-fill's data (the load generator's event mix, the gateway's own
 * `encodeEntry`), made once in memory so each shard count drains the same entries.
 */
function makeDataset(bench: Bench): Dataset {
  const o = bench.options;
  const users = Array.from({ length: o.drainUsers }, () => randomUUID());
  const gameIds = bench.games.map((g) => g.gameId);
  const entries: Entry[] = [];
  let events = 0;
  let levelCompleted = 0;
  while (events < o.drainEvents) {
    const size = Math.min(o.drainBatch, o.drainEvents - events);
    const n = entries.length;
    const userId = users[n % users.length]!;
    const gameId = gameIds[n % gameIds.length]!;
    const now = Date.now();
    const batch = sampleBatch(userId, gameId, size, n, now, () => (o.eventIds === "none" ? undefined : newEventId(o.eventIds, now)));
    for (const e of batch.events) if (e.type === "LevelCompleted") levelCompleted++;
    const fields = encodeEntry({ batchId: uuidV7(now), userId, gameId, receivedAtMs: now, format: "json", body: JSON.stringify(batch) });
    entries.push({ userId, fields });
    events += size;
  }
  return { entries, events, levelCompleted };
}

/**
 * XADDs every entry to the stream of its player's shard. A cluster pipeline
 * must stay in one slot, so each shard (one hash tag, one slot) gets its own
 * pipelines, and the shards fill in parallel.
 */
async function fill(redis: Cluster, prefix: string, shards: number, data: Dataset): Promise<number[]> {
  const byShard: Entry[][] = Array.from({ length: shards }, () => []);
  for (const e of data.entries) byShard[shardOf(e.userId, shards)]!.push(e);
  await Promise.all(
    byShard.map(async (list, shard) => {
      const key = streamKey(prefix, shard);
      for (let i = 0; i < list.length; i += 500) {
        const pipeline = redis.pipeline();
        for (const e of list.slice(i, i + 500)) pipeline.xadd(key, "*", ...e.fields);
        for (const [err] of (await pipeline.exec()) ?? []) if (err) throw err;
      }
    }),
  );
  return byShard.map((l) => l.length);
}

async function remaining(redis: Cluster, keys: readonly string[]): Promise<number> {
  const lengths = await Promise.all(keys.map((k) => redis.xlen(k).catch(() => 0)));
  return lengths.reduce((a, b) => a + b, 0);
}

async function pending(redis: Cluster, keys: readonly string[]): Promise<number> {
  const counts = await Promise.all(
    keys.map((k) => (redis.xpending(k, consumerGroup) as Promise<unknown[]>).then((s) => Number(s[0] ?? 0)).catch(() => 0)),
  );
  return counts.reduce((a, b) => a + b, 0);
}

/**
 * Polls every 50 ms: drain time runs from the first entry going pending (or
 * vanishing) to the streams being empty, as in the other drain scenarios.
 */
async function watchDrain(redis: Cluster, keys: readonly string[], initial: number, timeoutMs: number) {
  let startMs: number | undefined;
  const until = performance.now() + timeoutMs;
  for (;;) {
    const now = performance.now();
    const left = await remaining(redis, keys);
    if (startMs === undefined && (left < initial || (await pending(redis, keys)) > 0)) startMs = now;
    if (left === 0) return { startMs: startMs ?? now, endMs: now as number | undefined, left };
    if (now > until) return { startMs: startMs ?? now, endMs: undefined, left };
    await new Promise((r) => setTimeout(r, 50));
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

/**
 * `cluster-shards`: starts a Redis Cluster of its own (3 masters, 3 replicas,
 * the test suite's helper), and for each shard count N of --cluster-shards
 * (1,2,4) pre-fills N shard streams with the same entries (each in its
 * player's shard) and drains them with N `--role worker` processes on the
 * cluster. One row per N: events/s, and per core: events/s over the CPU the
 * workers, all six redis-servers and MariaDB used in the drain.
 */
export async function runClusterShardsScenario(bench: Bench): Promise<Row[]> {
  const pool = bench.pool;
  if (!pool) {
    const row = newRow("cluster-shards");
    row.failures.push("needs the bench's own service (not --target)");
    return [row];
  }
  const o = bench.options;
  process.stderr.write(`  generating ${fmt(o.drainEvents)} events (${o.drainBatch} per entry, ${o.drainUsers} players)...\n`);
  const data = makeDataset(bench);
  process.stderr.write(`  starting a Redis Cluster (3 masters, 3 replicas)...\n`);
  let cluster: TestRedisCluster | undefined = await startRedisCluster();
  const stopCluster = async () => {
    const c = cluster;
    cluster = undefined;
    await c?.stop();
  };
  const unregister = onTearDown(stopCluster);
  const redis = new Cluster(cluster.seeds.map((hp) => ({ host: hp.split(":")[0]!, port: Number(hp.split(":")[1]) })), {
    redisOptions: { maxRetriesPerRequest: 1 },
  });
  redis.on("error", () => {});
  const redisPids = cluster.nodes.map((n) => n.process?.pid).filter((p): p is number => p !== undefined);
  const rows: Row[] = [];
  try {
    for (const shards of o.clusterShards) {
      const name = `cluster-shards-${shards}`;
      const row = newRow(name);
      rows.push(row);
      try {
        await drainOnce(bench, cluster, redis, redisPids, data, shards, row);
      } catch (err) {
        row.failures.push(`crashed: ${err instanceof Error ? err.message : String(err)}`);
      }
      const base = rows[0];
      if (base !== row && base?.eventsPerSec && row.eventsPerSec !== undefined) {
        row.ratio = { value: row.eventsPerSec / base.eventsPerSec, vs: base.scenario };
      }
      process.stderr.write(`  ${name}: ${row.eventsPerSec === undefined ? "-" : fmt(row.eventsPerSec)} events/s; ${row.notes.join("; ")}\n`);
    }
  } finally {
    redis.disconnect();
    unregister();
    await stopCluster();
  }
  return rows;
}

async function drainOnce(
  bench: Bench,
  cluster: TestRedisCluster,
  redis: Cluster,
  redisPids: number[],
  data: Dataset,
  shards: number,
  row: Row,
): Promise<void> {
  const pool = bench.pool!;
  const o = bench.options;
  // A prefix of its own per shard count: no leases, worker set or group of the previous run.
  const prefix = `${bench.prefix}:cs${shards}`;
  const keys = Array.from({ length: shards }, (_, s) => streamKey(prefix, s));
  await truncateDrainTables(pool);
  const filled = performance.now();
  const perShard = await fill(redis, prefix, shards, data);
  const fillSeconds = (performance.now() - filled) / 1000;
  const masters = new Set(await Promise.all(keys.map((k) => cluster.masterOf(k))));

  const timing = watchDrain(redis, keys, data.entries.length, o.drainTimeoutMs);
  const children: Child[] = await Promise.all(
    Array.from({ length: shards }, (_, i) =>
      bench.startService(`${row.scenario}-${i + 1}`, "worker", {
        REDIS_URL: cluster.url,
        REDIS_CLUSTER_NODES: cluster.seeds.join(","),
        STREAM_SHARDS: String(shards),
        STREAM_PREFIX: prefix,
        WORKER_CONSUMER_NAME: `bench-${bench.tag}-${row.scenario}-${i + 1}`,
      }),
    ),
  );
  const watch = new ProcWatch({
    svc: children.map((c) => c.pid),
    redis: redisPids,
    db: bench.mysqlPid === undefined ? [] : [bench.mysqlPid],
  }).start();
  const { startMs, endMs, left } = await timing;
  const usage = watch.stop();
  const metrics = await Promise.all(children.map((c) => scrape(`${c.url}/metrics`)));
  await Promise.all(children.map((c) => c.stop()));

  const seconds = ((endMs ?? performance.now()) - startMs) / 1000;
  const drainedEvents = Math.round(((data.entries.length - left) / data.entries.length) * data.events);
  row.eventsPerSec = drainedEvents / seconds;
  setCpu(row, usage);
  if (endMs === undefined) row.failures.push(`not drained within ${o.drainTimeoutMs / 1000} s`);

  const cores = ((usage.svc?.cpuPct ?? 0) + (usage.redis?.cpuPct ?? 0) + (usage.db?.cpuPct ?? 0)) / 100;
  const perCore = cores > 0 ? row.eventsPerSec / cores : undefined;
  row.notes.push(
    `${shards} shard${shards > 1 ? "s" : ""} on ${masters.size} of 3 masters, ${shards} worker${shards > 1 ? "s" : ""}, ${fmt(data.events)} events in ${seconds.toFixed(1)} s`,
    `${perCore === undefined ? "-" : fmt(perCore)} ev/s per core (workers+redis+db ${cores.toFixed(2)} cores)`,
  );

  const stored = await scalar(pool, "SELECT COUNT(*) FROM events");
  const ledger = await scalar(pool, "SELECT COUNT(*) FROM coin_ledger");
  const coins = await scalar(pool, "SELECT COALESCE(SUM(balance), 0) FROM wallets");
  const expectedCoins = data.levelCompleted * (bench.games[0]?.coinsPerLevel ?? 0);
  if (endMs !== undefined && stored !== data.events) row.failures.push(`stored ${stored} events of ${data.events}`);
  if (endMs !== undefined && (ledger !== data.levelCompleted || coins !== expectedCoins)) {
    row.failures.push(`coins: ${ledger} ledger rows / ${coins} coins, expected ${data.levelCompleted} / ${expectedCoins}`);
  }
  const dead = metrics.reduce((n, m) => n + total(m, "playsmart_drain_dead_letters_total"), 0);
  if (dead > 0) row.failures.push(`${dead} entries dead-lettered`);
  const commits = metrics.reduce((n, m) => n + total(m, "playsmart_drain_commit_duration_seconds_count"), 0);
  row.notes.push(`${commits} tx`);
  row.details = {
    usage,
    shards,
    workers: shards,
    masters: [...masters],
    entriesPerShard: perShard,
    fillSeconds,
    seconds,
    events: data.events,
    storedEvents: stored,
    ledgerRows: ledger,
    coins,
    expectedCoins,
    commits,
    deadLetters: dead,
    eventsPerCore: perCore,
    coresUsed: cores,
  };
}
