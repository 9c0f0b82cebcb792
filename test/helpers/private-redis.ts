import { spawn, type ChildProcess } from "node:child_process";
import { Redis } from "ioredis";
import { freePort } from "./free-port.js";

/**
 * A redis-server of the test's own on a loopback port, so a test can stop and
 * restart Redis while the shared one keeps serving everybody else.
 */
export interface PrivateRedis {
  port: number;
  url: string;
  /** Starts (or restarts) the server and waits until it answers. */
  start(): Promise<void>;
  /** Kills the server (SIGKILL: an outage, not a shutdown). */
  stop(): Promise<void>;
}

/** Creates a private Redis on a free port; call `start()` to run it. `args` are extra redis-server options. */
export async function createPrivateRedis(args: string[] = []): Promise<PrivateRedis> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  return {
    port,
    url,
    async start() {
      child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", ...args], {
        stdio: "ignore",
      });
      const deadline = Date.now() + 10_000;
      for (;;) {
        const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
        probe.on("error", () => {});
        try {
          await probe.connect();
          if ((await probe.ping()) === "PONG") return;
        } catch {
          if (Date.now() > deadline) throw new Error(`private redis on ${port} did not start`);
          await new Promise((r) => setTimeout(r, 50));
        } finally {
          probe.disconnect();
        }
      }
    },
    async stop() {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        c.once("exit", () => resolve());
        c.kill("SIGKILL");
      });
    },
  };
}
