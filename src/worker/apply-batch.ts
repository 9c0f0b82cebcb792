import type { PoolConnection } from "mysql2/promise";
import { addDailyTotals, selectDailyTotals } from "../store/daily-totals-repo.js";
import { insertDeadLetters, type DeadLetterRow } from "../store/dead-letters-repo.js";
import { eventKeyString, findStoredEvents, insertEvents } from "../store/events-repo.js";
import { insertLedgerRows } from "../store/ledger-repo.js";
import { addToBalances, lockWallets } from "../store/wallets-repo.js";
import { computeCoinAwards, dayKey, paysCoins, sumByDay, sumByUser, utcDay, type CoinRules } from "./coin-rules.js";
import type { ExpandedEvent } from "./expand-entry.js";

/** What one transaction writes. */
export interface ApplyInput {
  /** Events in stream order, each (user, game, event id) once. */
  events: readonly ExpandedEvent[];
  /** Coin rules of every game in {@link events}; undefined = not registered. */
  rules: ReadonlyMap<string, CoinRules | undefined>;
  /** Entries given up on, recorded in the same transaction. */
  deadLetters: readonly DeadLetterRow[];
}

/** What one transaction wrote. */
export interface ApplyResult {
  /** Events that were new. */
  eventsStored: number;
  /** Ledger rows written. */
  awards: number;
  /** Coins those rows moved. */
  coinsAwarded: bigint;
}

/**
 * Writes one read's worth of events inside the caller's transaction (READ
 * COMMITTED), idempotently:
 *
 * 1. lock the wallets of every player with a `LevelCompleted` event of a paying
 *    game, in user order; from here on no other transaction decides their coins;
 * 2. find which of those coin events are stored already (a replay, a resent
 *    batch): only they decide coins, so only they are looked up;
 * 3. insert the events, skipping the ones stored already;
 * 4. award coins for the new coin events, within the daily caps read from
 *    `coin_daily_totals`, and write the ledger rows;
 * 5. move the daily totals and the balances by exactly those rows.
 *
 * A racing transaction that stores a coin event first (possible only through a
 * stale games cache) makes the ledger INSERT fail with a duplicate key, which
 * the caller treats as a conflict and retries: the ledger's unique key on the
 * event makes paying twice impossible either way.
 */
export async function applyBatch(conn: PoolConnection, input: ApplyInput): Promise<ApplyResult> {
  const candidates = input.events.filter((e) => e.type === "LevelCompleted" && paysCoins(input.rules.get(e.gameId)));

  await lockWallets(conn, candidates.map((c) => c.userId));
  // Read after the locks: READ COMMITTED sees every commit of the transactions
  // that held them before.
  const stored = candidates.length > 0 ? await findStoredEvents(conn, candidates) : new Set<string>();
  const isNew = (e: ExpandedEvent) => !stored.has(eventKeyString(e));
  const eventsStored = await insertEvents(conn, input.events.filter(isNew));
  const fresh = candidates.filter(isNew);

  let awards: ReturnType<typeof computeCoinAwards> = [];
  if (fresh.length > 0) {
    const keys = new Map<string, { userId: string; gameId: string; day: string }>();
    for (const c of fresh) {
      const day = utcDay(c.receivedAtMs);
      keys.set(dayKey(c.userId, c.gameId, day), { userId: c.userId, gameId: c.gameId, day });
    }
    const totals = await selectDailyTotals(conn, [...keys.values()]);
    const before = new Map(totals.map((t) => [dayKey(t.userId, t.gameId, t.day), t.coins]));
    awards = computeCoinAwards(fresh, (gameId) => input.rules.get(gameId), before);
  }

  if (awards.length > 0) {
    await insertLedgerRows(conn, awards);
    await addDailyTotals(conn, sumByDay(awards));
    await addToBalances(conn, sumByUser(awards));
  }
  await insertDeadLetters(conn, input.deadLetters);

  let coinsAwarded = 0n;
  for (const a of awards) coinsAwarded += a.amount;
  return { eventsStored, awards: awards.length, coinsAwarded };
}
