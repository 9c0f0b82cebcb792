import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Role } from "../../../src/config.js";
import { testAdminToken, testKeyId, testSigningKeyPem } from "../../helpers/start-app.js";
import { redisUrl, testMysqlUrl, testStreamPrefix } from "../../helpers/test-env.js";

const bin = fileURLToPath(new URL("../../../bin/playsmart.js", import.meta.url));

/**
 * Every child process a fault test started (servers, redis-server). They are
 * SIGKILLed when the test process exits, so a failed or interrupted run never
 * leaves one behind.
 */
const children = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Registers `child` to be killed when the test process exits. */
export function trackChild(child: ChildProcess): void {
  children.add(child);
  child.once("exit", () => children.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once("exit", () => {
      for (const c of children) c.kill("SIGKILL");
    });
  }
}

/** How a child process ended. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A `playsmart serve` process (a real one, through `bin/playsmart.js`). */
export interface ServeProcess {
  readonly label: string;
  readonly role: Role;
  readonly child: ChildProcess;
  /** The port it listens on, known once {@link listening} resolved. */
  readonly port: number;
  /** `http://127.0.0.1:<port>`, known once {@link listening} resolved. */
  readonly url: string;
  /** Whether the process is still running. */
  readonly alive: boolean;
  /** Resolves once the process logged "listening"; rejects when it exits first or after `timeoutMs`. */
  listening(timeoutMs?: number): Promise<void>;
  readonly exited: Promise<Exit>;
  /** How many log lines carried each `msg` (e.g. "claimed entries idle too long"). */
  readonly logCounts: ReadonlyMap<string, number>;
  /** The last warnings, errors and stderr lines, for failure messages. */
  tail(): string;
  /** Sends `signal` (default SIGKILL) and resolves when the process is gone. */
  kill(signal?: NodeJS.Signals): Promise<Exit>;
}

/** Options of {@link spawnServe}. */
export interface ServeProcessOptions {
  role: Role;
  /** Names the process in messages. */
  label: string;
  /** The environment on top of the process's own; see {@link serveEnv}. */
  env: Record<string, string>;
}

/**
 * The environment of a child that shares the test's database `name`, stream
 * prefix, signing key and admin token, with fast failover settings for the
 * worker (a dead worker's entries are claimed after 300 ms).
 */
export function serveEnv(name: string, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    PORT: "0",
    HOST: "127.0.0.1",
    MYSQL_URL: testMysqlUrl(name),
    REDIS_URL: redisUrl,
    STREAM_PREFIX: testStreamPrefix(name),
    JWT_PRIVATE_KEY: testSigningKeyPem,
    JWT_KEY_ID: testKeyId,
    ADMIN_TOKEN: testAdminToken,
    LOG_LEVEL: "info",
    SHUTDOWN_GRACE_MS: "2000",
    WORKER_BLOCK_MS: "50",
    WORKER_CLAIM_IDLE_MS: "300",
    // A killed worker's shard lease (when the worker leases shards) frees after 1 s, not 5.
    WORKER_LEASE_TTL_MS: "1000",
    GAMES_CACHE_MS: "500",
    ...overrides,
  };
}

/** Starts `node bin/playsmart.js serve --role <role>`; await `listening()` before using it. */
export function spawnServe(options: ServeProcessOptions): ServeProcess {
  const child = spawn(process.execPath, [bin, "serve", "--role", options.role], {
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  trackChild(child);
  const counts = new Map<string, number>();
  const notes: string[] = [];
  const note = (line: string) => {
    notes.push(line.length > 400 ? line.slice(0, 400) + "…" : line);
    if (notes.length > 20) notes.shift();
  };
  let port = 0;
  let onListening: (() => void) | undefined;
  let listened = false;

  let pendingOut = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    pendingOut += chunk;
    let nl: number;
    while ((nl = pendingOut.indexOf("\n")) >= 0) {
      const line = pendingOut.slice(0, nl);
      pendingOut = pendingOut.slice(nl + 1);
      let entry: { msg?: unknown; level?: unknown; port?: unknown };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        note(line);
        continue;
      }
      const msg = typeof entry.msg === "string" ? entry.msg : "";
      counts.set(msg, (counts.get(msg) ?? 0) + 1);
      if (typeof entry.level === "number" && entry.level >= 40) note(line);
      if (msg === "listening" && typeof entry.port === "number") {
        port = entry.port;
        listened = true;
        onListening?.();
      }
    }
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    for (const line of chunk.split("\n")) if (line.trim() !== "") note(`stderr: ${line}`);
  });

  const exited = new Promise<Exit>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  let alive = true;
  void exited.then(() => {
    alive = false;
  });

  const handle: ServeProcess = {
    label: options.label,
    role: options.role,
    child,
    get port() {
      return port;
    },
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    get alive() {
      return alive;
    },
    logCounts: counts,
    exited,
    tail: () => notes.join("\n"),
    listening(timeoutMs = 20_000) {
      if (listened) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${options.label} did not listen within ${timeoutMs} ms\n${handle.tail()}`)), timeoutMs);
        onListening = () => {
          clearTimeout(timer);
          resolve();
        };
        void exited.then((e) => {
          clearTimeout(timer);
          if (!listened) reject(new Error(`${options.label} exited (${e.code ?? e.signal}) before listening\n${handle.tail()}`));
        });
      });
    },
    async kill(signal = "SIGKILL") {
      if (alive) child.kill(signal);
      return exited;
    },
  };
  return handle;
}
