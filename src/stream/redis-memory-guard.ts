import type { RedisClient } from "./redis-client.js";
import type { Logger } from "../logger.js";

/** Watches Redis memory so the gateway stops admitting before Redis refuses writes. */
export interface RedisMemoryGuard {
  /** True while used memory is above the high-water fraction of maxmemory. */
  isOverloaded(): boolean;
  /** Reads INFO now (also done every interval). */
  check(): Promise<void>;
  stop(): void;
}

/** Options of {@link createRedisMemoryGuard}. */
export interface RedisMemoryGuardOptions {
  redis: RedisClient;
  log: Logger;
  /** Fraction of maxmemory above which appends are refused. @default 0.9 */
  highWater?: number;
  /** How often INFO memory is read. @default 1000 */
  intervalMs?: number;
}

function field(info: string, name: string): string | undefined {
  const m = new RegExp(`^${name}:(.*)$`, "m").exec(info);
  return m?.[1]?.trim();
}

/**
 * Reads `INFO memory` periodically. Warns once when the server's eviction policy
 * could evict the stream (anything but `noeviction`): an evicted entry is an
 * accepted batch lost.
 */
export function createRedisMemoryGuard(options: RedisMemoryGuardOptions): RedisMemoryGuard {
  const { redis, log } = options;
  const highWater = options.highWater ?? 0.9;
  let overloaded = false;
  let warned = false;
  const check = async () => {
    let info: string;
    try {
      info = await redis.info("memory");
    } catch {
      return; // Redis down: appends fail on their own
    }
    const used = Number(field(info, "used_memory") ?? 0);
    const max = Number(field(info, "maxmemory") ?? 0);
    const policy = field(info, "maxmemory_policy") ?? "unknown";
    if (!warned && policy !== "noeviction") {
      warned = true;
      log.warn({ policy }, "Redis maxmemory-policy is not noeviction: Redis may evict queued batches; set maxmemory-policy noeviction");
    }
    const next = max > 0 && used > highWater * max;
    if (next !== overloaded) log.warn({ used, max }, next ? "Redis memory above high-water mark: refusing batches" : "Redis memory back below high-water mark");
    overloaded = next;
  };
  const timer = setInterval(() => void check(), options.intervalMs ?? 1000);
  timer.unref();
  return { isOverloaded: () => overloaded, check, stop: () => clearInterval(timer) };
}
