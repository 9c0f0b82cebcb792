import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { freePort } from "../../helpers/free-port.js";
import { trackChild } from "./serve-process.js";

/**
 * A redis-server of the fault test's own, on a loopback port, that the test can
 * crash (SIGKILL), stop cleanly (SIGTERM) and start again on the same port.
 *
 * Unlike `test/helpers/private-redis.ts` it can persist: with `persistence:
 * "aof-always"` every write is in the append-only file (fsync before the reply)
 * in a directory of its own, so a restart finds every entry a gateway was told
 * was appended. With `"none"` a crash loses everything, as a Redis without
 * persistence would in production.
 */
export interface FaultRedis {
  readonly port: number;
  readonly url: string;
  /** The data directory (AOF), undefined without persistence. */
  readonly dir: string | undefined;
  /** Starts (or restarts) the server and waits until it answers PING (AOF loaded). */
  start(): Promise<void>;
  /** Crashes the server: SIGKILL, no chance to write anything more. */
  kill(): Promise<void>;
  /** Stops the server cleanly: SIGTERM (Redis flushes its AOF and exits). */
  shutdown(): Promise<void>;
  /** Kills the server if running and removes its data directory. */
  dispose(): Promise<void>;
}

/** Options of {@link createFaultRedis}. */
export interface FaultRedisOptions {
  /** @default "none" */
  persistence?: "none" | "aof-always";
}

/** Creates a private Redis on a free port; call `start()` to run it. */
export async function createFaultRedis(options: FaultRedisOptions = {}): Promise<FaultRedis> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const dir = options.persistence === "aof-always" ? mkdtempSync(join(tmpdir(), "playsmart-fault-redis-")) : undefined;
  let child: ChildProcess | undefined;

  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", ""];
  if (dir === undefined) args.push("--appendonly", "no");
  else args.push("--appendonly", "yes", "--appendfsync", "always", "--dir", dir);

  async function waitAnswering(): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      probe.on("error", () => {});
      try {
        await probe.connect();
        // PING answers LOADING while the AOF is read back; wait for PONG.
        if ((await probe.ping()) === "PONG") return;
      } catch {
        // not yet
      } finally {
        probe.disconnect();
      }
      if (Date.now() > deadline) throw new Error(`fault redis on ${port} did not start`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async function stopWith(signal: NodeJS.Signals): Promise<void> {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once("exit", () => resolve());
      c.kill(signal);
    });
  }

  return {
    port,
    url,
    dir,
    async start() {
      if (child) throw new Error("fault redis is running already");
      child = spawn("redis-server", args, { stdio: "ignore" });
      trackChild(child);
      await waitAnswering();
    },
    kill: () => stopWith("SIGKILL"),
    shutdown: () => stopWith("SIGTERM"),
    async dispose() {
      await stopWith("SIGKILL");
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}
