/** Options of {@link createBackOff}. */
export interface BackOffOptions {
  /** First delay, in ms. @default 100 */
  initialMs?: number;
  /** Longest delay, in ms. @default 5000 */
  maxMs?: number;
}

/** Capped exponential back-off; each delay is drawn from the upper half of its step. */
export interface BackOff {
  /** The next delay; doubles up to the cap on each call. */
  next(): number;
  /** Starts over after a success. */
  reset(): void;
}

/**
 * A back-off for waiting on a dependency. Jitter spreads the retries of many
 * workers so they do not hit a recovering MySQL or Redis in lock-step.
 */
export function createBackOff(options: BackOffOptions = {}): BackOff {
  const initialMs = options.initialMs ?? 100;
  const maxMs = options.maxMs ?? 5000;
  let attempt = 0;
  return {
    next() {
      const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 20));
      attempt++;
      return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
    },
    reset() {
      attempt = 0;
    },
  };
}

/** Resolves after `ms`, or early (with false) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
