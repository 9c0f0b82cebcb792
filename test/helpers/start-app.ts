import { generateKeyPairSync } from "node:crypto";
import { startApp, type App } from "../../src/app.js";
import { loadConfig, type Config, type Role } from "../../src/config.js";
import { createLogger, type Logger } from "../../src/logger.js";
import type { DrainWorkerHooks } from "../../src/worker/drain-worker.js";
import { testMysqlUrl, testStreamPrefix } from "./test-env.js";

/**
 * One Ed25519 key for the whole test run, passed as JWT_PRIVATE_KEY, so tests can
 * sign their own tokens (expired, wrong issuer, ...) with the server's key.
 */
export const testSigningKey = generateKeyPairSync("ed25519");
export const testSigningKeyPem = testSigningKey.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
export const testKeyId = "test-key-1";
export const testAdminToken = "test-admin-token-0123456789";

/** Options of {@link startTestApp}. */
export interface TestAppOptions {
  /** Suffix of this app's database and key prefix; apps with the same suffix share data. */
  name: string;
  role?: Role;
  /** Extra environment variables (override the defaults below). */
  env?: Record<string, string>;
  /** Logger to use instead of a silent one (to capture log lines). */
  log?: Logger;
  workerHooks?: DrainWorkerHooks;
}

/** A running app plus the configuration it was started with. */
export interface TestApp extends App {
  config: Config;
}

/**
 * Starts the real service on 127.0.0.1, port 0, against the real Redis and
 * MariaDB, with its own database and stream prefix.
 */
export async function startTestApp(options: TestAppOptions): Promise<TestApp> {
  const config = loadConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    MYSQL_URL: testMysqlUrl(options.name),
    STREAM_PREFIX: testStreamPrefix(options.name),
    LOG_LEVEL: "silent",
    ADMIN_TOKEN: testAdminToken,
    JWT_PRIVATE_KEY: testSigningKeyPem,
    JWT_KEY_ID: testKeyId,
    SHUTDOWN_GRACE_MS: "2000",
    WORKER_BLOCK_MS: "50",
    // One shard unless a test asks for more: most tests read shard 0's stream.
    STREAM_SHARDS: "1",
    // Tests send fast from one address; the limits have tests of their own.
    INGEST_RATE_PER_USER: "0",
    REGISTER_MAX_PER_IP: "1000000",
    LOGIN_MAX_FAILURES_PER_IP: "1000000",
    ...options.env,
  });
  const app = await startApp({
    config,
    role: options.role ?? "gateway",
    log: options.log ?? createLogger("silent"),
    ...(options.workerHooks ? { workerHooks: options.workerHooks } : {}),
  });
  return Object.assign(app, { config });
}

/** A registered player: ids and tokens as the REST API returned them. */
export interface TestPlayer {
  userId: string;
  accessToken: string;
  refreshToken: string;
  email: string;
  password: string;
}

let counter = 0;

/** Registers a new player over REST and returns its tokens. */
export async function registerPlayer(baseUrl: string): Promise<TestPlayer> {
  const email = `player${process.pid}-${Date.now()}-${counter++}@example.com`;
  const password = "correct horse battery";
  const res = await fetch(`${baseUrl}/auth/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  if (res.status !== 201) throw new Error(`register answered ${res.status}: ${await res.text()}`);
  const body = (await res.json()) as { user_id: string; access_token: string; refresh_token: string };
  return { userId: body.user_id, accessToken: body.access_token, refreshToken: body.refresh_token, email, password };
}
