import { Cluster, Redis } from "ioredis";

/**
 * A client of one Redis or of a Redis Cluster. Every key the service touches in
 * one command, MULTI or script shares a shard's hash tag, so the same code runs
 * against both.
 */
export type RedisClient = Redis | Cluster;

/** Options of {@link createRedisClient}. */
export interface RedisClientOptions {
  /**
   * `redis://` or `rediss://` for one server; `redis+cluster://host:port` (or
   * `rediss+cluster://`) for a Redis Cluster, given one seed node.
   */
  url: string;
  /** More seed nodes of a cluster (`host:port`), in case the first is down. */
  clusterNodes?: string[];
  /** Connection name shown by `CLIENT LIST`, e.g. `playsmart-gateway`. */
  name: string;
  /**
   * Fail a command after this many ms without an answer. Keeps a hung Redis from
   * hanging requests. Leave undefined for clients that block (XREADGROUP BLOCK).
   * @default 2000
   */
  commandTimeoutMs?: number | undefined;
}

/** Whether `url` names a Redis Cluster. */
export function isClusterUrl(url: string): boolean {
  return /^rediss?\+cluster:/.test(url);
}

/**
 * A Redis client that fails fast instead of queueing: while disconnected a command
 * is refused at once (no offline queue), so the gateway answers 503 instead of
 * hanging, and reconnects by itself with capped back-off. A cluster client
 * follows MOVED and ASK redirections and refreshes its slot map on failover.
 */
export function createRedisClient(options: RedisClientOptions): RedisClient {
  const commandTimeout = "commandTimeoutMs" in options ? options.commandTimeoutMs : 2000;
  const common = {
    connectionName: options.name,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout,
    connectTimeout: 2000,
    retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 10), 1000),
  };
  let client: RedisClient;
  if (isClusterUrl(options.url)) {
    const seed = new URL(options.url.replace("+cluster", ""));
    const nodes = [`${seed.hostname}:${seed.port || 6379}`, ...(options.clusterNodes ?? [])].map((hp) => {
      const [host, port] = hp.split(":");
      return { host: host!, port: Number(port ?? 6379) };
    });
    client = new Cluster(nodes, {
      // The cluster client queues while it (re)learns the slot map; failing
      // fast here would refuse every command during a failover's few seconds.
      enableOfflineQueue: true,
      clusterRetryStrategy: common.retryStrategy,
      retryDelayOnFailover: 100,
      retryDelayOnClusterDown: 200,
      maxRedirections: 16,
      slotsRefreshTimeout: 2000,
      redisOptions: {
        ...common,
        ...(seed.password ? { password: decodeURIComponent(seed.password) } : {}),
        ...(seed.username ? { username: decodeURIComponent(seed.username) } : {}),
        ...(seed.protocol === "rediss:" ? { tls: {} } : {}),
      },
    });
  } else {
    client = new Redis(options.url, { ...common, lazyConnect: false });
  }
  // Errors surface on the commands that hit them; without a listener ioredis
  // would print every reconnect failure as an unhandled error event.
  client.on("error", () => {});
  return client;
}

/** Waits until `client` is ready, or rejects after `timeoutMs`. */
export async function waitForRedis(client: RedisClient, timeoutMs: number): Promise<void> {
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
