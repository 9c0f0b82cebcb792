// long because every variable is parsed here, with its default documented in the interfaces.
import { hostname } from "node:os";
import { defaultCustomdataLimits, storableCustomdataDepth, type CustomdataLimits } from "./ingest/customdata-limits.js";
import { readTracingConfig, type TracingConfig } from "./tracing/tracing-config.js";

/**
 * The only reader of `process.env`. Every variable is parsed and checked here, once,
 * at start; a malformed value throws a {@link ConfigError} whose message is one line
 * naming the variable and what it accepts.
 */

/** Roles a process can run; `all` is gateway and worker together. */
export type Role = "all" | "gateway" | "worker";

/** Log levels accepted by `LOG_LEVEL` (pino's). */
export const logLevels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof logLevels)[number];

/** Fully resolved configuration of one process. */
export interface Config {
  /** Port of the one HTTP/1.1 + h2c listener. @default 8080 */
  port: number;
  /** Interface to bind. @default "0.0.0.0" */
  host: string;
  /** Redis of the stream; `redis+cluster://host:port` for a Redis Cluster. @default "redis://127.0.0.1:6379" */
  redisUrl: string;
  /** More cluster seed nodes (`host:port`), from REDIS_CLUSTER_NODES. @default [] */
  redisClusterNodes: string[];
  /** MySQL of accounts, events, coins. @default "mysql://root@127.0.0.1:3306/playsmart" */
  mysqlUrl: string;
  /** Prefix of every Redis key the service owns. @default "playsmart" */
  streamPrefix: string;
  /**
   * Number of stream shards (batches go to the shard of their user); also how
   * many workers can drain in parallel, one per shard. @default 4
   */
  streamShards: number;
  /** Most entries one shard stream may hold; past it ingest answers 503. 0 = unbounded. @default 20000 */
  streamMaxBacklog: number;
  /**
   * Replicas that must acknowledge an appended batch (Redis WAIT) before the 202,
   * so a master failover cannot lose it. @default 0
   */
  redisReplicaAck: { replicas: number; timeoutMs: number };
  /** Fraction of Redis maxmemory above which ingest answers 503. @default 0.9 */
  redisMemoryHighWater: number;
  /** Per-player ingest rate: batches per second (0 = none) and burst. @default 100/s, burst 200 */
  ingestRate: { perSecond: number; burst: number };
  /** Limits against credential stuffing. */
  authLimits: AuthLimits;
  /** Proxies in front of the gateway whose X-Forwarded-For entries are trusted. @default 0 */
  trustedProxyHops: number;
  /** Bearer token of the games admin API; undefined refuses every admin call. */
  adminToken: string | undefined;
  /** Largest accepted request body in bytes (REST and RPC). @default 1048576 */
  bodyLimitBytes: number;
  /** Limits on each event's customdata. @default depth 16, 16384 bytes */
  customdata: CustomdataLimits;
  /** Whether `proto/`'s services are listed by gRPC server reflection. @default true */
  reflection: boolean;
  /** pino log level. @default "info" */
  logLevel: LogLevel;
  /** Grace period for in-flight work at SIGTERM, in ms. @default 10000 */
  shutdownGraceMs: number;
  http: HttpTimeouts;
  tls: TlsFiles | undefined;
  jwt: JwtConfig;
  worker: WorkerConfig;
  /** OpenTelemetry tracing, from the standard `OTEL_*` variables. @default off */
  tracing: TracingConfig;
}

/** Login and register limits, counted in Redis per window. */
export interface AuthLimits {
  /** Length of the counting window in seconds. @default 900 */
  windowSeconds: number;
  /** Failed logins per email per window before 429. @default 10 */
  loginFailuresPerEmail: number;
  /** Failed logins per client IP per window before 429 (high: players share IPs behind NAT). @default 1000 */
  loginFailuresPerIp: number;
  /** Registrations per client IP per window before 429. @default 1000 */
  registrationsPerIp: number;
}

/** Socket timeouts of the listener. */
export interface HttpTimeouts {
  /** Close a keep-alive connection with no request for this long. @default 65000 */
  idleTimeoutMs: number;
  /** Time a client has to send the request headers. @default 10000 */
  headersTimeoutMs: number;
  /** Time a client has to send a whole request. @default 30000 */
  requestTimeoutMs: number;
}

/** PEM files that turn on TLS (ALPN h2 and http/1.1). */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

/** Token settings. */
export interface JwtConfig {
  /** `iss` claim. @default "playsmart" */
  issuer: string;
  /** `aud` claim. @default "playsmart-games" */
  audience: string;
  /** Access token lifetime in seconds. @default 900 */
  accessTtlSeconds: number;
  /** Refresh token lifetime in seconds. @default 2592000 (30 days) */
  refreshTtlSeconds: number;
  /**
   * Ed25519 private key (PKCS#8 PEM) to sign with. When unset, a key pair is
   * generated on first start and kept in MySQL.
   */
  privateKeyPem: string | undefined;
  /** `kid` of {@link privateKeyPem}. @default "env-1" */
  keyId: string;
}

/** Drain loop settings. */
export interface WorkerConfig {
  /** Consumer name in the group; unique per worker process. @default "<hostname>-<pid>" */
  consumerName: string;
  /** Most stream entries read (and committed in one transaction) at once. @default 100 */
  readCount: number;
  /** How long one XREADGROUP waits for new entries, in ms. @default 200 */
  blockMs: number;
  /** Idle time after which a pending entry of another consumer is claimed, in ms. @default 30000 */
  claimIdleMs: number;
  /**
   * A worker's lease on a shard expires this long after its last renewal; a dead
   * worker's shards are taken over after it. @default 5000
   */
  leaseTtlMs: number;
  /**
   * Deliveries after which a failing entry goes to the dead letters. Entries
   * delivered before are retried one at a time, so a crash is charged only to
   * the entry in hand. @default 10
   */
  maxAttempts: number;
  /**
   * MySQL shards by user_id (a power of two, 1 = unsharded). Above 1 each read's
   * events are committed in one transaction per shard, so no transaction spans
   * two shards of a Vitess keyspace. @default 1
   */
  storeShards: number;
  /** How long coin rules of a game are cached, in ms. @default 2000 */
  gamesCacheMs: number;
  /** Events received longer ago than this many days are removed in the background; 0 keeps them. @default 0 */
  eventsRetentionDays: number;
  /** Time between retention passes, in ms. @default 60000 */
  retentionIntervalMs: number;
  /** Share of its time a retention pass spends deleting, in percent (the rest it pauses). @default 10 */
  retentionDutyPercent: number;
}

/** A configuration value that cannot be used; the message is one line. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

type Env = Record<string, string | undefined>;

function str(env: Env, name: string, fallback: string): string {
  const v = env[name];
  return v === undefined || v === "" ? fallback : v;
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d+$/.test(raw.trim())) {
    throw new ConfigError(`${name}=${JSON.stringify(raw)} is not a whole number (allowed ${min}..${max})`);
  }
  const n = Number(raw.trim());
  if (n < min || n > max) {
    throw new ConfigError(`${name}=${raw} is out of range (allowed ${min}..${max})`);
  }
  return n;
}

function powerOfTwo(env: Env, name: string, fallback: number, max: number): number {
  const n = int(env, name, fallback, 1, max);
  if ((n & (n - 1)) !== 0) throw new ConfigError(`${name}=${n} is not a power of two (1, 2, 4, ... ${max})`);
  return n;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const v = raw.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(v)) return true;
  if (["0", "false", "no", "off"].includes(v)) return false;
  throw new ConfigError(`${name}=${JSON.stringify(raw)} is not a boolean (use true or false)`);
}

function url(env: Env, name: string, fallback: string, protocols: string[]): string {
  const v = str(env, name, fallback);
  let parsed: URL;
  try {
    parsed = new URL(v);
  } catch {
    throw new ConfigError(`${name} is not a URL (expected e.g. ${fallback})`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(`${name} must start with ${protocols.map((p) => p + "//").join(" or ")}`);
  }
  return v;
}

/**
 * Reads and validates the configuration from an environment (by default
 * `process.env`). Throws {@link ConfigError} on the first bad value.
 */
export function loadConfig(env: Env = process.env): Config {
  const logLevel = str(env, "LOG_LEVEL", "info") as LogLevel;
  if (!logLevels.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL=${JSON.stringify(env.LOG_LEVEL)} is not one of ${logLevels.join(", ")}`);
  }
  const streamPrefix = str(env, "STREAM_PREFIX", "playsmart");
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(streamPrefix)) {
    throw new ConfigError("STREAM_PREFIX must be 1-64 characters of letters, digits, _ . : -");
  }
  const certFile = env.TLS_CERT_FILE || undefined;
  const keyFile = env.TLS_KEY_FILE || undefined;
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new ConfigError("TLS_CERT_FILE and TLS_KEY_FILE must be set together");
  }
  const adminToken = env.ADMIN_TOKEN || undefined;
  if (adminToken !== undefined && adminToken.length < 16) {
    throw new ConfigError("ADMIN_TOKEN must be at least 16 characters");
  }
  let tracing: TracingConfig;
  try {
    tracing = readTracingConfig(env);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  return {
    port: int(env, "PORT", 8080, 0, 65535),
    host: str(env, "HOST", "0.0.0.0"),
    redisUrl: url(env, "REDIS_URL", "redis://127.0.0.1:6379", ["redis:", "rediss:", "redis+cluster:", "rediss+cluster:"]),
    mysqlUrl: url(env, "MYSQL_URL", "mysql://root@127.0.0.1:3306/playsmart", ["mysql:"]),
    streamPrefix,
    streamShards: int(env, "STREAM_SHARDS", 4, 1, 1024),
    streamMaxBacklog: int(env, "STREAM_MAX_BACKLOG", 20_000, 0, 100_000_000),
    redisMemoryHighWater: int(env, "REDIS_MEMORY_HIGH_WATER_PERCENT", 90, 1, 100) / 100,
    redisReplicaAck: {
      replicas: int(env, "REDIS_MIN_REPLICAS_ACK", 0, 0, 16),
      timeoutMs: int(env, "REDIS_REPLICA_ACK_TIMEOUT_MS", 500, 1, 60_000),
    },
    redisClusterNodes: (env.REDIS_CLUSTER_NODES ?? "").split(",").map((s) => s.trim()).filter(Boolean),
    ingestRate: {
      perSecond: int(env, "INGEST_RATE_PER_USER", 100, 0, 1_000_000),
      burst: int(env, "INGEST_BURST_PER_USER", 200, 1, 1_000_000),
    },
    authLimits: {
      windowSeconds: int(env, "AUTH_LIMIT_WINDOW_SECONDS", 900, 1, 86_400),
      loginFailuresPerEmail: int(env, "LOGIN_MAX_FAILURES_PER_EMAIL", 10, 1, 1_000_000),
      loginFailuresPerIp: int(env, "LOGIN_MAX_FAILURES_PER_IP", 1000, 1, 1_000_000),
      registrationsPerIp: int(env, "REGISTER_MAX_PER_IP", 1000, 1, 1_000_000),
    },
    trustedProxyHops: int(env, "TRUSTED_PROXY_HOPS", 0, 0, 10),
    adminToken,
    bodyLimitBytes: int(env, "BODY_LIMIT_BYTES", 1024 * 1024, 1024, 64 * 1024 * 1024),
    customdata: {
      maxDepth: int(env, "CUSTOMDATA_MAX_DEPTH", defaultCustomdataLimits.maxDepth, 1, storableCustomdataDepth),
      maxBytes: int(env, "CUSTOMDATA_MAX_BYTES", defaultCustomdataLimits.maxBytes, 64, 64 * 1024 * 1024),
    },
    reflection: bool(env, "GRPC_REFLECTION", true),
    logLevel,
    shutdownGraceMs: int(env, "SHUTDOWN_GRACE_MS", 10_000, 0, 600_000),
    http: {
      idleTimeoutMs: int(env, "HTTP_IDLE_TIMEOUT_MS", 65_000, 1000, 3_600_000),
      headersTimeoutMs: int(env, "HTTP_HEADERS_TIMEOUT_MS", 10_000, 100, 600_000),
      requestTimeoutMs: int(env, "HTTP_REQUEST_TIMEOUT_MS", 30_000, 100, 600_000),
    },
    tls: certFile && keyFile ? { certFile, keyFile } : undefined,
    jwt: {
      issuer: str(env, "JWT_ISSUER", "playsmart"),
      audience: str(env, "JWT_AUDIENCE", "playsmart-games"),
      accessTtlSeconds: int(env, "JWT_ACCESS_TTL_SECONDS", 900, 10, 86_400),
      refreshTtlSeconds: int(env, "JWT_REFRESH_TTL_SECONDS", 30 * 86_400, 60, 365 * 86_400),
      privateKeyPem: env.JWT_PRIVATE_KEY || undefined,
      keyId: str(env, "JWT_KEY_ID", "env-1"),
    },
    worker: {
      consumerName: str(env, "WORKER_CONSUMER_NAME", `${hostnameSafe()}-${process.pid}`),
      readCount: int(env, "WORKER_READ_COUNT", 100, 1, 10_000),
      blockMs: int(env, "WORKER_BLOCK_MS", 200, 1, 60_000),
      claimIdleMs: int(env, "WORKER_CLAIM_IDLE_MS", 30_000, 100, 3_600_000),
      leaseTtlMs: int(env, "WORKER_LEASE_TTL_MS", 5000, 100, 600_000),
      maxAttempts: int(env, "WORKER_MAX_ATTEMPTS", 10, 1, 1000),
      gamesCacheMs: int(env, "GAMES_CACHE_MS", 2000, 0, 600_000),
      storeShards: powerOfTwo(env, "STORE_SHARDS", 1, 256),
      eventsRetentionDays: int(env, "EVENTS_RETENTION_DAYS", 0, 0, 36_500),
      retentionIntervalMs: int(env, "EVENTS_RETENTION_INTERVAL_MS", 60_000, 100, 86_400_000),
      retentionDutyPercent: int(env, "EVENTS_RETENTION_DUTY_PERCENT", 10, 1, 100),
    },
    tracing,
  };
}

function hostnameSafe(): string {
  return hostname().replace(/[^A-Za-z0-9_.-]/g, "_");
}
