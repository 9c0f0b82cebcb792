import type { Redis } from "ioredis";

/** Entries in a stream (0 when it does not exist). */
export async function streamLength(redis: Redis, keys: readonly string[]): Promise<number> {
  if (keys.length === 0) return 0;
  const pipeline = redis.pipeline();
  for (const k of keys) pipeline.xlen(k);
  let total = 0;
  for (const [err, n] of (await pipeline.exec()) ?? []) if (!err) total += Number(n);
  return total;
}

/** Entries delivered to `group` and not yet acknowledged (0 when the group is missing). */
export async function pendingCount(redis: Redis, keys: readonly string[], group: string): Promise<number> {
  let total = 0;
  for (const k of keys) {
    try {
      const summary = (await redis.xpending(k, group)) as unknown[];
      total += Number(summary[0] ?? 0);
    } catch {
      // NOGROUP: nothing pending
    }
  }
  return total;
}

/** A field of `INFO <section>` as a number (e.g. `used_memory`, `process_id`). */
export async function infoNumber(redis: Redis, section: string, field: string): Promise<number> {
  const text = await redis.info(section);
  const m = new RegExp(`^${field}:(\\d+)`, "m").exec(text);
  return m ? Number(m[1]) : 0;
}

/**
 * Keeps streams empty while only a gateway writes to them: the ingest scenarios
 * have no worker, and without this the stream would hold gigabytes after a
 * minute of 200-event batches (and a gateway with a backlog bound would start
 * refusing). The baseline server's key is trimmed the same way, so both pay
 * the same Redis cost.
 */
export function startStreamSink(redis: Redis, keys: () => readonly string[], everyMs = 200): { stop(): Promise<void> } {
  let busy: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    busy = Promise.all(keys().map((k) => redis.xtrim(k, "MAXLEN", 0).catch(() => 0)));
  }, everyMs);
  return {
    async stop() {
      clearInterval(timer);
      await busy;
    },
  };
}

/** Deletes every key starting with `prefix` (SCAN + UNLINK, so Redis never blocks on a big stream). */
export async function deleteKeysWithPrefix(redis: Redis, prefix: string): Promise<number> {
  let cursor = "0";
  let deleted = 0;
  const pattern = prefix.replace(/[*?[\]\\]/g, "\\$&") + "*";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== "0");
  return deleted;
}
