import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (bench/lib/../..). */
export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

/** A process the benchmark started and will stop. */
export interface Child {
  name: string;
  pid: number;
  /** Its HTTP base URL, when it listens. */
  url: string;
  logFile: string;
  /** Sends SIGTERM, waits for the exit, SIGKILL after `graceMs`. Resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
  /** Whether it has exited. */
  exited(): boolean;
  /** How it exited without being asked to ("code 1", "signal SIGKILL"); undefined while running or after stop(). */
  unexpectedExit(): string | undefined;
}

/** How to know a child is ready: an HTTP path answering 200, or a line on its stdout. */
export type Readiness = { httpPath: string; url: string } | { line: string };

/** Options of {@link startChild}. */
export interface StartChildOptions {
  name: string;
  /** Arguments after `node` (flags, then the script). */
  args: string[];
  env: NodeJS.ProcessEnv;
  logDir: string;
  ready: Readiness;
  readyTimeoutMs?: number;
}

const running = new Set<Child>();

/** Every child still running (for clean-up on errors and signals). */
export function runningChildren(): Child[] {
  return [...running];
}

/** A TCP port free right now on 127.0.0.1 (the test suite's helper). */
export { freePort } from "../../test/helpers/free-port.js";

/**
 * Starts `node <args>` in the repository root with its output in a log file,
 * and resolves once it is ready. Rejects (with the log's tail) when it exits or
 * is not ready within the timeout.
 */
export async function startChild(options: StartChildOptions): Promise<Child> {
  const logFile = join(options.logDir, `${options.name}.log`);
  const fd = openSync(logFile, "a");
  const wantsLine = "line" in options.ready;
  const proc: ChildProcess = spawn(process.execPath, options.args, {
    cwd: repoRoot,
    env: options.env,
    stdio: ["ignore", wantsLine ? "pipe" : fd, fd],
  });
  closeSync(fd);
  let exitCode: number | null | undefined;
  let stopping = false;
  let unexpected: string | undefined;
  const exit = new Promise<number | null>((resolve) =>
    proc.once("exit", (code, signal) => {
      if (!stopping) {
        // Said at once: a service that dies mid-scenario otherwise shows only as refused connections.
        unexpected = signal ? `signal ${signal}` : `code ${code}`;
        process.stderr.write(`bench: ${options.name} (pid ${proc.pid}) exited unexpectedly (${unexpected}); log: ${logFile}\n`);
      }
      resolve((exitCode = code ?? (signal ? 128 : null)));
    }),
  );
  const child: Child = {
    name: options.name,
    pid: proc.pid!,
    url: "url" in options.ready ? options.ready.url : "",
    logFile,
    exited: () => exitCode !== undefined,
    unexpectedExit: () => unexpected,
    async stop(graceMs = 15_000) {
      stopping = true;
      if (exitCode === undefined) {
        proc.kill("SIGTERM");
        const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
        await exit;
        clearTimeout(timer);
      }
      running.delete(child);
      return exitCode ?? null;
    },
  };
  running.add(child);
  const tail = () => {
    try {
      return readFileSync(logFile, "utf8").split("\n").slice(-15).join("\n");
    } catch {
      return "";
    }
  };
  const timeoutMs = options.readyTimeoutMs ?? 30_000;
  const ready = options.ready;
  const becameReady = "line" in ready
    ? new Promise<void>((resolve) => {
        let seen = "";
        proc.stdout!.setEncoding("utf8");
        proc.stdout!.on("data", (text: string) => {
          seen += text;
          if (seen.includes(ready.line)) resolve();
          if (seen.length > 1e5) seen = seen.slice(-1000);
        });
      })
    : pollHttp(ready.url + ready.httpPath, () => exitCode !== undefined, timeoutMs);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      becameReady,
      exit.then((code) => Promise.reject(new Error(`${options.name} exited with ${code} before it was ready:\n${tail()}`))),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${options.name} not ready within ${timeoutMs} ms:\n${tail()}`)), timeoutMs))),
    ]);
  } catch (err) {
    await child.stop(2000);
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return child;
}

async function pollHttp(url: string, gone: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until && !gone()) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  if (!gone()) throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
  await new Promise(() => {}); // the exit branch of the race reports it
}
