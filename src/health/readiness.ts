import type { Logger } from "../logger.js";

/** One dependency check: resolves when the dependency answers. */
export type DependencyCheck = { name: string; check: () => Promise<void> };

/** Whether the process should receive traffic, kept current by a probe loop. */
export interface Readiness {
  /** The state of the last probe (false once shutdown began). */
  isReady(): boolean;
  /** Called with the new state on every change; returns an unsubscribe function. */
  onChange(listener: (ready: boolean) => void): () => void;
  /** Probes now and returns the result. */
  probe(): Promise<boolean>;
  /** Shutdown begins: not ready from now on, whatever the dependencies say. */
  drain(): void;
  /** Stops the probe loop. */
  stop(): void;
}

/** Options of {@link createReadiness}. */
export interface ReadinessOptions {
  checks: DependencyCheck[];
  /** Time between probes. @default 1000 */
  intervalMs?: number;
  /** A check slower than this counts as failed. @default 1000 */
  timeoutMs?: number;
  log: Logger;
}

/**
 * Probes the role's dependencies in the background so health answers (HTTP
 * `/readyz`, gRPC `Check` and `Watch`) are immediate and `Watch` streams see
 * changes as they happen.
 */
export function createReadiness(options: ReadinessOptions): Readiness {
  const { checks, log } = options;
  const intervalMs = options.intervalMs ?? 1000;
  const timeoutMs = options.timeoutMs ?? 1000;
  const listeners = new Set<(ready: boolean) => void>();
  let ready = false;
  let draining = false;

  const set = (next: boolean) => {
    if (next === ready) return;
    ready = next;
    log.info({ ready }, ready ? "ready" : "not ready");
    for (const l of listeners) l(ready);
  };

  const withTimeout = (p: Promise<void>) =>
    new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("timed out")), timeoutMs);
      p.then(
        () => (clearTimeout(t), resolve()),
        (e: unknown) => (clearTimeout(t), reject(e)),
      );
    });

  const probe = async (): Promise<boolean> => {
    const results = await Promise.allSettled(checks.map((c) => withTimeout(c.check())));
    const failed = checks.filter((_, i) => results[i]!.status === "rejected").map((c) => c.name);
    if (failed.length > 0 && ready) log.warn({ failed }, "dependency check failed");
    set(!draining && failed.length === 0);
    return ready;
  };

  let timer: NodeJS.Timeout | undefined;
  const loop = () => {
    timer = setTimeout(() => void probe().finally(() => timer !== undefined && loop()), intervalMs);
    timer.unref();
  };
  void probe();
  loop();

  return {
    isReady: () => ready,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    probe,
    drain() {
      draining = true;
      set(false);
    },
    stop() {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
