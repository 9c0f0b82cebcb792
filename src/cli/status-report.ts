import type { Pool, RowDataPacket } from "mysql2/promise";
import type { RedisClient } from "../stream/redis-client.js";
import { consumerGroup, deadLetterKey, leaseKey, streamKey, workersKey } from "../stream/stream-keys.js";

/** One shard as `playsmart status` shows it. */
export interface ShardStatus {
  shard: number;
  /** Entries in the stream: read or not, not yet acknowledged. */
  backlog: number;
  /** Entries delivered to a worker and not yet acknowledged. */
  pending: number;
  /** The worker holding the shard's lease, or null: nobody drains it. */
  leaseHolder: string | null;
  /** Milliseconds since the oldest entry still in the stream was accepted: how far behind the drain is; null when empty. */
  lagMs: number | null;
  /** Entries in the shard's dead-letter stream. */
  deadLetters: number;
}

/** What `playsmart status` prints: Redis and MySQL read directly, no gateway needed. */
export interface StatusReport {
  at: string;
  shards: ShardStatus[];
  /** Workers that sent a heartbeat, with its age in milliseconds. */
  workers: Array<{ name: string; heartbeatAgeMs: number }>;
  /** Rows of the `dead_letters` table. */
  deadLetterRows: number;
  /** InnoDB's row estimates per table (an exact COUNT(*) of a large table takes seconds). */
  tableRows: Record<string, number>;
}

/** Options of {@link readStatus}. */
export interface StatusOptions {
  redis: RedisClient;
  pool: Pool;
  prefix: string;
  shards: number;
  /** Clock, replaceable in tests. @default Date.now */
  now?: () => number;
}

// A stream entry id starts with its time in milliseconds (`<ms>-<seq>`).
const entryTimeMs = (id: string) => Number(id.slice(0, id.indexOf("-")));

/** Reads the status of every shard, the workers' heartbeats and MySQL's row counts. */
export async function readStatus(options: StatusOptions): Promise<StatusReport> {
  const { redis, pool, prefix } = options;
  const now = (options.now ?? Date.now)();
  const shards = await Promise.all(
    Array.from({ length: options.shards }, async (_, shard): Promise<ShardStatus> => {
      const key = streamKey(prefix, shard);
      // One pipeline per shard: its keys share the shard's slot, as a cluster requires.
      const results = (await redis
        .pipeline()
        .xlen(key)
        .xpending(key, consumerGroup)
        .get(leaseKey(prefix, shard))
        .xrange(key, "-", "+", "COUNT", 1)
        .xlen(deadLetterKey(prefix, shard))
        .exec()) ?? [];
      const value = (i: number): unknown => {
        const [err, v] = results[i] ?? [];
        // A shard whose group does not exist yet has no pending entries.
        if (err && i !== 1) throw err;
        return err ? undefined : v;
      };
      const summary = value(1);
      const first = value(3) as Array<[string, string[]]>;
      return {
        shard,
        backlog: Number(value(0) ?? 0),
        pending: Array.isArray(summary) ? Number(summary[0] ?? 0) : 0,
        leaseHolder: (value(2) as string | null) ?? null,
        lagMs: first.length > 0 ? Math.max(0, now - entryTimeMs(first[0]![0])) : null,
        deadLetters: Number(value(4) ?? 0),
      };
    }),
  );
  const heartbeats = await redis.zrange(workersKey(prefix), "0", "-1", "WITHSCORES");
  const workers: StatusReport["workers"] = [];
  for (let i = 0; i + 1 < heartbeats.length; i += 2) workers.push({ name: heartbeats[i]!, heartbeatAgeMs: Math.max(0, now - Number(heartbeats[i + 1])) });
  const [dead] = await pool.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM dead_letters");
  const [tables] = await pool.query<RowDataPacket[]>(
    "SELECT TABLE_NAME AS name, TABLE_ROWS AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
  );
  const tableRows: Record<string, number> = {};
  for (const t of tables) tableRows[t.name as string] = Number(t.n ?? 0);
  return { at: new Date(now).toISOString(), shards, workers, deadLetterRows: Number(dead[0]!.n), tableRows };
}

const pad = (s: string | number, n: number) => String(s).padStart(n);
const duration = (ms: number | null) => (ms === null ? "-" : ms < 1000 ? `${ms} ms` : ms < 120_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 60_000)} min`);

/** The report as a terminal table. */
export function formatStatus(report: StatusReport): string {
  const lines = [`playsmart status at ${report.at}`, "", "shard  backlog  pending  lag        dead letters  lease holder"];
  for (const s of report.shards) {
    lines.push(`${pad(s.shard, 5)}  ${pad(s.backlog, 7)}  ${pad(s.pending, 7)}  ${duration(s.lagMs).padEnd(9)}  ${pad(s.deadLetters, 12)}  ${s.leaseHolder ?? "NONE: nobody drains this shard"}`);
  }
  lines.push("", `workers: ${report.workers.length === 0 ? "none" : report.workers.map((w) => `${w.name} (heartbeat ${duration(w.heartbeatAgeMs)} ago)`).join(", ")}`);
  lines.push(`dead_letters table: ${report.deadLetterRows} rows`);
  lines.push(`MySQL rows (InnoDB estimates): ${Object.entries(report.tableRows).map(([t, n]) => `${t} ~${n}`).join(", ")}`);
  return lines.join("\n");
}
