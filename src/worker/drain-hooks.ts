import type { Good } from "./read-preparer.js";

/** What a hook learns about the transaction it runs in or after. */
export interface DrainHookInfo {
  /** Stream entry ids the transaction covers. */
  entryIds: string[];
  /** Players whose rows the transaction writes. */
  userIds: string[];
  eventsStored: number;
}

/**
 * Test seams at the two moments a crash matters. A hook that throws aborts the
 * batch as a crash would at that point: before commit the transaction rolls
 * back, after commit nothing is acknowledged; either way the entries stay
 * pending for a later claim.
 */
export interface DrainWorkerHooks {
  /** Inside the transaction, after every write, before COMMIT. */
  beforeCommit?: (info: DrainHookInfo) => Promise<void>;
  /** After COMMIT, before the entries are acknowledged. */
  afterCommit?: (info: DrainHookInfo) => Promise<void>;
}

/** The players of `goods`, each once: the {@link DrainHookInfo.userIds} of their transaction. */
export function usersOf(goods: readonly Good[]): string[] {
  return [...new Set(goods.map((g) => g.expanded.batch.userId))];
}
