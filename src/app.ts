import type { DescService } from "@bufbuild/protobuf";
import { createContextValues, type ConnectRouter } from "@connectrpc/connect";
import type { RedisClient } from "./stream/redis-client.js";
import type { Pool } from "mysql2/promise";
import { ServerReflection as ReflectionV1 } from "../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ReflectionV1alpha } from "../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { Health } from "../gen/health/v1/health_pb.js";
import { EventAdminService } from "../gen/playsmart/admin/v1/events_pb.js";
import { PlayerAdminService } from "../gen/playsmart/admin/v1/players_pb.js";
import { AuthService } from "../gen/playsmart/auth/v1/auth_pb.js";
import { GameService } from "../gen/playsmart/games/v1/games_pb.js";
import { IngestService } from "../gen/playsmart/ingest/v1/ingest_pb.js";
import { WalletService } from "../gen/playsmart/wallet/v1/wallet_pb.js";
import { createAccessTokens } from "./auth/access-tokens.js";
import { createAccounts } from "./auth/accounts.js";
import { createGuestAccounts } from "./auth/guest-accounts.js";
import { createTokenPairs } from "./auth/token-pairs.js";
import { createAuthenticator } from "./auth/authenticator.js";
import { createAuthLimiter } from "./auth/auth-limiter.js";
import { loadSigningKeys } from "./auth/signing-keys.js";
import type { Config, Role } from "./config.js";
import { createGameService } from "./games/game-service.js";
import { createEventAdminService } from "./players/event-admin-service.js";
import { createEventExplorer } from "./players/event-explorer.js";
import { createPlayerAdminService } from "./players/player-admin-service.js";
import { createPlayerErasure } from "./players/player-erasure.js";
import { createGames } from "./games/games.js";
import { createReadiness, type DependencyCheck } from "./health/readiness.js";
import { createIngestBatches } from "./ingest/ingest-batches.js";
import type { Logger } from "./logger.js";
import { createMetrics, type Metrics } from "./metrics/metrics.js";
import { createAuthService } from "./server/auth-service.js";
import { createAuthInterceptor, createErrorInterceptor } from "./server/connect-interceptors.js";
import { withGrpcTrailersOnly } from "./server/grpc-trailers-only.js";
import { createHealthService } from "./server/health-service.js";
import { createIngestService, ingestJsonPrecheck, ingestWireRpc } from "./server/ingest-service.js";
import { createObservedHandler } from "./server/observed-handler.js";
import { createOnePortServer } from "./server/one-port-server.js";
import { createReflectionServices } from "./server/reflection-service.js";
import { createRpcAdapter } from "./server/rpc-adapter.js";
import { rpcJsonOptions } from "./server/rpc-json-options.js";
import { requestInfoKey, requestInfoOf } from "./server/request-info.js";
import { createRestRoutes, type GatewayRoutes } from "./server/rest-routes.js";
import { migrate } from "./store/migrate.js";
import { createMysqlPool } from "./store/mysql-pool.js";
import { createRedisClient, waitForRedis } from "./stream/redis-client.js";
import { createRedisMemoryGuard, type RedisMemoryGuard } from "./stream/redis-memory-guard.js";
import { readStreamGauges } from "./stream/stream-gauges.js";
import { createStreamProducer } from "./stream/stream-producer.js";
import { createWalletService } from "./wallet/wallet-service.js";
import { createWallets } from "./wallet/wallets.js";
import { createDrainWorker, type DrainWorker, type DrainWorkerHooks } from "./worker/drain-worker.js";
import { createEventsRetention, type EventsRetention } from "./worker/events-retention.js";

/** Options of {@link startApp}. */
export interface AppOptions {
  config: Config;
  role: Role;
  log: Logger;
  /** Test seams of the drain worker (crash points). */
  workerHooks?: DrainWorkerHooks;
}

/** A running process: its listener and the clients it owns. */
export interface App {
  /** The port actually bound (useful with PORT=0). */
  port: number;
  /** `http://127.0.0.1:<port>` (`https://` with TLS). */
  url: string;
  redis: RedisClient;
  pool: Pool;
  metrics: Metrics;
  /** The drain worker, for roles `all` and `worker`. */
  worker: DrainWorker | undefined;
  /** Removal of old events, for roles `all` and `worker` with EVENTS_RETENTION_DAYS > 0. */
  retention: EventsRetention | undefined;
  /**
   * Graceful stop: readiness goes NOT_SERVING, the listener stops, in-flight
   * requests finish and the worker commits and acknowledges its batch, then the
   * connections and clients close.
   */
  close(): Promise<void>;
}

/**
 * Wires every part of one role and starts listening. `main` adds start-up checks
 * and signals; tests call this directly with their own configuration.
 */
export async function startApp(options: AppOptions): Promise<App> {
  const { config, role, log } = options;
  const serveGateway = role !== "worker";
  const runWorker = role !== "gateway";

  await migrate(config.mysqlUrl);
  const pool = createMysqlPool({ url: config.mysqlUrl });
  const redis = createRedisClient({ url: config.redisUrl, clusterNodes: config.redisClusterNodes, name: `playsmart-${role}` });
  const metrics = createMetrics({
    readStreams: () => readStreamGauges(redis, config.streamPrefix, config.streamShards),
  });

  const checks: DependencyCheck[] = [{ name: "redis", check: async () => void (await redis.ping()) }];
  // The gateway answers without MySQL (only accounts need it); the worker cannot.
  if (runWorker) checks.push({ name: "mysql", check: async () => void (await pool.query("SELECT 1")) });
  const readiness = createReadiness({ checks, log });
  // Give the new Redis connection a moment so a healthy process starts ready;
  // a Redis that is down leaves it not ready, and the probe loop catches up.
  await waitForRedis(redis, 1000).catch(() => {});
  await readiness.probe();

  let worker: DrainWorker | undefined;
  let retention: EventsRetention | undefined;
  let workerRedis: RedisClient | undefined;
  if (runWorker) {
    // XREADGROUP BLOCK holds a connection, so the worker has a client of its own.
    workerRedis = createRedisClient({
      url: config.redisUrl,
      clusterNodes: config.redisClusterNodes,
      name: "playsmart-worker",
      commandTimeoutMs: undefined,
    });
    worker = createDrainWorker({
      redis: workerRedis,
      pool,
      prefix: config.streamPrefix,
      shards: config.streamShards,
      config: config.worker,
      logger: log,
      observer: metrics,
      ...(options.workerHooks ? { hooks: options.workerHooks } : {}),
    });
  }

  let gateway: GatewayRoutes | undefined;
  let memoryGuard: RedisMemoryGuard | undefined;
  const services: DescService[] = [];
  const register: Array<(router: ConnectRouter) => void> = [];
  let jwks: () => unknown[] = () => [];
  let authenticate = createAuthInterceptor({ authenticate: async () => ({ kind: "anonymous" }) });
  if (serveGateway) {
    const keys = await loadSigningKeys({ pool, privateKeyPem: config.jwt.privateKeyPem, keyId: config.jwt.keyId });
    jwks = () => keys.publicJwks;
    const tokens = createAccessTokens({
      keys, issuer: config.jwt.issuer, audience: config.jwt.audience, ttlSeconds: config.jwt.accessTtlSeconds,
    });
    const limiter = createAuthLimiter({ redis, prefix: config.streamPrefix, limits: config.authLimits, log });
    const pairs = createTokenPairs({ pool, tokens, refreshTtlSeconds: config.jwt.refreshTtlSeconds });
    const accounts = createAccounts({ pool, pairs, limiter });
    const guests = createGuestAccounts({ pool, pairs, limiter });
    const authenticator = createAuthenticator({ tokens, adminToken: config.adminToken });
    authenticate = createAuthInterceptor(authenticator);
    memoryGuard = createRedisMemoryGuard({ redis, log, highWater: config.redisMemoryHighWater });
    await memoryGuard.check();
    const producer = createStreamProducer({
      redis,
      prefix: config.streamPrefix,
      shards: config.streamShards,
      limits: {
        maxBacklog: config.streamMaxBacklog,
        ratePerUser: config.ingestRate.perSecond,
        burstPerUser: config.ingestRate.burst,
      },
      memoryGuard,
      replicaAck: config.redisReplicaAck,
    });
    const ingest = createIngestBatches({ producer, observer: metrics, customdataLimits: config.customdata });
    const wallets = createWallets({ pool });
    gateway = { ingest, accounts, guests, authenticator, wallets };
    services.push(IngestService, AuthService, WalletService, GameService, EventAdminService, PlayerAdminService);
    const erasure = createPlayerErasure({ pool, redis, prefix: config.streamPrefix, streamShards: config.streamShards });
    register.push((router) => {
      router.service(IngestService, createIngestService(ingest));
      router.service(AuthService, createAuthService(accounts, guests));
      router.service(WalletService, createWalletService({ wallets }));
      router.service(GameService, createGameService({ games: createGames({ pool }) }));
      router.service(EventAdminService, createEventAdminService({ explorer: createEventExplorer({ pool }) }));
      router.service(PlayerAdminService, createPlayerAdminService({ pool, erasure }));
    });
  }
  const health = createHealthService(readiness, services.map((s) => s.typeName));
  const reflection = config.reflection ? createReflectionServices([...services, Health]) : undefined;

  const rest = createRestRoutes({
    gateway,
    jwks,
    ready: () => readiness.isReady(),
    metrics: async () => ({ contentType: metrics.registry.contentType, body: await metrics.registry.metrics() }),
    bodyLimitBytes: config.bodyLimitBytes,
    log,
  });
  const rpc = createRpcAdapter({
    routes(router) {
      for (const r of register) r(router);
      router.service(Health, health);
      if (reflection) {
        router.service(ReflectionV1, reflection.v1);
        router.service(ReflectionV1alpha, reflection.v1alpha);
      }
    },
    fallback: rest,
    contextValues: (req) => createContextValues().set(requestInfoKey, requestInfoOf(req)),
    interceptors: [createErrorInterceptor(log), authenticate],
    readMaxBytes: config.bodyLimitBytes,
    // textDecoder is read by connect's JSON serialization, not in the router's type.
    jsonOptions: rpcJsonOptions as never,
    noStorePrefixes: ["/playsmart.auth.v1.AuthService/"],
    captureRawPaths: [`/${IngestService.typeName}/${IngestService.method.ingestEvents.name}`],
    binaryRpcs: gateway ? [ingestWireRpc(gateway.ingest)] : [],
    jsonPrechecks: gateway ? [ingestJsonPrecheck(gateway.ingest)] : [],
  });
  const served = [...services, Health, ...(reflection ? [ReflectionV1, ReflectionV1alpha] : [])];
  const rpcPaths = served.flatMap((s) => s.methods.map((m) => `/${s.typeName}/${m.name}`));
  const handler = createObservedHandler({
    handler: withGrpcTrailersOnly(rpc),
    log,
    knownRoutes: new Set([...rest.paths, ...rpcPaths]),
    observers: [metrics.observeRequest],
    trustedProxyHops: config.trustedProxyHops,
  });
  const server = createOnePortServer({ handler, timeouts: config.http, tls: config.tls });
  const address = await server.listen(config.port, config.host);
  // Started once its own connection is up, so its first commands are not refused.
  if (workerRedis) await waitForRedis(workerRedis, 1000).catch(() => {});
  worker?.start();
  if (runWorker && config.worker.eventsRetentionDays > 0) {
    retention = createEventsRetention({
      pool,
      days: config.worker.eventsRetentionDays,
      intervalMs: config.worker.retentionIntervalMs,
      dutyPercent: config.worker.retentionDutyPercent,
      observer: metrics,
      log,
    });
    retention.start();
  }
  log.info({ port: address.port, role }, "listening");

  return {
    port: address.port,
    url: `${config.tls ? "https" : "http"}://127.0.0.1:${address.port}`,
    redis,
    pool,
    metrics,
    worker,
    retention,
    async close() {
      readiness.drain();
      await Promise.all([server.close(config.shutdownGraceMs), worker?.stop(), retention?.stop()]);
      readiness.stop();
      memoryGuard?.stop();
      redis.disconnect();
      workerRedis?.disconnect();
      await pool.end();
    },
  };
}
