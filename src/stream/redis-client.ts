import { Redis } from "ioredis";

/** Options of {@link createRedisClient}. */
export interface RedisClientOptions {
  /** `redis://` or `rediss://` URL. */
  url: string;
  /** Connection name shown by `CLIENT LIST`, e.g. `playsmart-gateway`. */
  name: string;
  /**
   * Fail a command after this many ms without an answer. Keeps a hung Redis from
   * hanging requests. Leave undefined for clients that block (XREADGROUP BLOCK).
   * @default 2000
   */
  commandTimeoutMs?: number | undefined;
}

/**
 * A Redis client that fails fast instead of queueing: while disconnected a command
 * is refused at once (no offline queue), so the gateway answers 503 instead of
 * hanging, and reconnects by itself with capped back-off.
 */
export function createRedisClient(options: RedisClientOptions): Redis {
  const client = new Redis(options.url, {
    connectionName: options.name,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: "commandTimeoutMs" in options ? options.commandTimeoutMs : 2000,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 10), 1000),
    lazyConnect: false,
  });
  // Errors surface on the commands that hit them; without a listener ioredis
  // would print every reconnect failure as an unhandled error event.
  client.on("error", () => {});
  return client;
}

/** Waits until `client` is ready, or rejects after `timeoutMs`. */
export async function waitForRedis(client: Redis, timeoutMs: number): Promise<void> {
  if (client.status === "ready") return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      client.off("ready", onReady);
    };
    client.on("ready", onReady);
  });
}
