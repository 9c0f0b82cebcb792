import type { DescService } from "@bufbuild/protobuf";
import { createContextValues } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Redis } from "ioredis";
import type { Pool } from "mysql2/promise";
import { AuthService } from "../gen/playsmart/auth/v1/auth_pb.js";
import { IngestService } from "../gen/playsmart/ingest/v1/ingest_pb.js";
import { createAccessTokens } from "./auth/access-tokens.js";
import { createAccounts } from "./auth/accounts.js";
import { createAuthenticator } from "./auth/authenticator.js";
import { loadSigningKeys } from "./auth/signing-keys.js";
import type { Config, Role } from "./config.js";
import { createIngestBatches } from "./ingest/ingest-batches.js";
import type { Logger } from "./logger.js";
import { createAuthService } from "./server/auth-service.js";
import { createAuthInterceptor, createErrorInterceptor } from "./server/connect-interceptors.js";
import { createIngestService } from "./server/ingest-service.js";
import { createObservedHandler } from "./server/observed-handler.js";
import { createOnePortServer } from "./server/one-port-server.js";
import { requestInfoKey, requestInfoOf } from "./server/request-info.js";
import { createRestRoutes } from "./server/rest-routes.js";
import { migrate } from "./store/migrate.js";
import { createMysqlPool } from "./store/mysql-pool.js";
import { createRedisClient } from "./stream/redis-client.js";
import { createStreamProducer } from "./stream/stream-producer.js";

/** Options of {@link startApp}. */
export interface AppOptions {
  config: Config;
  role: Role;
  log: Logger;
}

/** A running process: its listener and the clients it owns. */
export interface App {
  /** The port actually bound (useful with PORT=0). */
  port: number;
  /** `http://127.0.0.1:<port>`. */
  url: string;
  redis: Redis;
  pool: Pool;
  /** Graceful stop: listener, in-flight requests, worker batch, then clients. */
  close(): Promise<void>;
}

/**
 * Wires every part for one role and starts listening. `main` adds signals and
 * start-up checks; tests call this directly with their own configuration.
 */
export async function startApp(options: AppOptions): Promise<App> {
  const { config, role, log } = options;
  const serveGateway = role === "all" || role === "gateway";

  await migrate(config.mysqlUrl);
  const pool = createMysqlPool({ url: config.mysqlUrl });
  const redis = createRedisClient({ url: config.redisUrl, name: `playsmart-${role}` });

  const keys = await loadSigningKeys({ pool, privateKeyPem: config.jwt.privateKeyPem, keyId: config.jwt.keyId });
  const tokens = createAccessTokens({
    keys, issuer: config.jwt.issuer, audience: config.jwt.audience, ttlSeconds: config.jwt.accessTtlSeconds,
  });
  const accounts = createAccounts({ pool, tokens, refreshTtlSeconds: config.jwt.refreshTtlSeconds });
  const authenticator = createAuthenticator({ tokens, adminToken: config.adminToken });
  const producer = createStreamProducer({ redis, prefix: config.streamPrefix, shards: config.streamShards });
  const ingest = createIngestBatches({ producer });

  const ready = async (): Promise<boolean> => {
    try {
      if ((await redis.ping()) !== "PONG") return false;
      if (role !== "gateway") await pool.query("SELECT 1");
      return true;
    } catch {
      return false;
    }
  };

  const rest = createRestRoutes({
    ingest, accounts, authenticator, wallet: undefined, jwks: () => keys.publicJwks, ready,
    bodyLimitBytes: config.bodyLimitBytes, log,
  });
  const services: DescService[] = [];
  const rpc = connectNodeAdapter({
    routes(router) {
      if (!serveGateway) return;
      router.service(IngestService, createIngestService(ingest));
      router.service(AuthService, createAuthService(accounts));
      services.push(IngestService, AuthService);
    },
    fallback: rest,
    contextValues: (req) => createContextValues().set(requestInfoKey, requestInfoOf(req)),
    interceptors: [createErrorInterceptor(log), createAuthInterceptor(authenticator)],
    readMaxBytes: config.bodyLimitBytes,
    jsonOptions: { ignoreUnknownFields: true, useProtoFieldName: true },
  });
  const rpcPaths = services.flatMap((s) => s.methods.map((m) => `/${s.typeName}/${m.name}`));
  const handler = createObservedHandler({ handler: rpc, log, knownRoutes: new Set([...rest.paths, ...rpcPaths]) });
  const server = createOnePortServer({ handler, timeouts: config.http, tls: config.tls });
  const address = await server.listen(config.port, config.host);
  log.info({ port: address.port, role }, "listening");

  return {
    port: address.port,
    url: `http://127.0.0.1:${address.port}`,
    redis,
    pool,
    async close() {
      await server.close(config.shutdownGraceMs);
      redis.disconnect();
      await pool.end();
    },
  };
}
