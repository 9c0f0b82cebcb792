import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { LoadJob, LoadResult } from "./job.js";

/** The parent's handle on the load process. */
export interface LoadGenerator {
  pid: number;
  /**
   * Runs one job in the load process and resolves with its result;
   * `onWindowStart` is called when its measured window opens (after the warm-up).
   */
  run(job: LoadJob, onWindowStart?: () => void): Promise<LoadResult>;
  stop(): void;
}

type Reply = { type: "ready" } | { type: "window" } | { type: "result"; result: LoadResult } | { type: "error"; error: string };

/** Forks the load process (TypeScript through tsx) and waits until it listens for jobs. */
export async function startLoadGenerator(): Promise<LoadGenerator> {
  const child: ChildProcess = fork(fileURLToPath(new URL("./load-process.ts", import.meta.url)), [], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  await new Promise<void>((resolve, reject) => {
    const onMessage = (m: Reply) => {
      if (m.type === "ready") {
        child.off("exit", onExit);
        child.off("message", onMessage);
        resolve();
      }
    };
    const onExit = (code: number | null) => reject(new Error(`load process exited with ${code} before it was ready`));
    child.on("message", onMessage);
    child.once("exit", onExit);
  });
  let queue: Promise<unknown> = Promise.resolve();
  return {
    pid: child.pid!,
    run(job, onWindowStart) {
      const next = queue.then(
        () =>
          new Promise<LoadResult>((resolve, reject) => {
            const onMessage = (m: Reply) => {
              if (m.type === "ready") return;
              if (m.type === "window") return onWindowStart?.();
              child.off("message", onMessage);
              child.off("exit", onExit);
              if (m.type === "result") resolve(m.result);
              else reject(new Error(`load process failed: ${m.error}`));
            };
            const onExit = (code: number | null) => reject(new Error(`load process exited with ${code} during a job`));
            child.on("message", onMessage);
            child.once("exit", onExit);
            child.send({ type: "run", job });
          }),
      );
      queue = next.catch(() => {});
      return next;
    },
    stop() {
      if (child.connected) child.disconnect();
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}
