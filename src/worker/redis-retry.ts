import type { Logger } from "../logger.js";
import { createBackOff, sleep } from "./back-off.js";
import { describeError } from "./describe-error.js";
import type { StreamConsumer } from "./stream-consumer.js";

/** Options of {@link createRedisRetry}. */
export interface RedisRetryOptions {
  /** Remakes the consumer groups when they vanished. */
  consumer: StreamConsumer;
  log: Logger;
  /** Aborted when the worker stops: no more waiting then. */
  signal: AbortSignal;
}

/** How the drain worker waits out a failed Redis call before trying it again. */
export interface RedisRetry {
  /**
   * After a failed Redis call (`what` names it for the log): remakes the groups
   * if they vanished, else waits the next back-off step. Returns at once while
   * stopping, and early when the worker stops meanwhile.
   */
  wait(what: string, err: unknown): Promise<void>;
  /** Starts the back-off over after a Redis call went through. */
  reset(): void;
}

/** A retry policy with capped back-off, shared by every Redis call of one worker. */
export function createRedisRetry(options: RedisRetryOptions): RedisRetry {
  const { consumer, log, signal } = options;
  const backOff = createBackOff({ initialMs: 100, maxMs: 5000 });
  return {
    async wait(what, err) {
      if (signal.aborted) return;
      const message = describeError(err);
      // The group vanished (the stream was deleted): make it again.
      if (message.startsWith("NOGROUP")) {
        try {
          await consumer.ensureGroups();
          return;
        } catch {
          // fall through to the back-off
        }
      }
      const delay = backOff.next();
      log.warn({ err: message, retryInMs: delay }, `could not ${what}; retrying`);
      await sleep(delay, signal);
    },
    reset: () => backOff.reset(),
  };
}
