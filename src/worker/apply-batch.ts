import type { PoolConnection } from "mysql2/promise";
import { addDailyTotals, selectDailyTotals } from "../store/daily-totals-repo.js";
import { insertDeadLetters, type DeadLetterRow } from "../store/dead-letters-repo.js";
import { eventKeyString, findStoredEvents, formatEventInserts, insertEvents, runEventInserts, type EventInserts } from "../store/events-repo.js";
import { insertLedgerRows } from "../store/ledger-repo.js";
import { addToBalances, lockWallets } from "../store/wallets-repo.js";
import { computeCoinAwards, dayKey, paysCoins, sumByDay, sumByUser, utcDay, type CoinAward, type CoinRules } from "./coin-rules.js";
import type { ExpandedEvent } from "./expand-entry.js";

/** What one transaction writes. */
export interface ApplyInput {
  /** Events in stream order, each (user, game, event id) once. */
  events: readonly ExpandedEvent[];
  /**
   * The INSERT statements of exactly {@link events}, when built in advance
   * (see `formatEventInserts`); built here otherwise.
   */
  eventInserts?: EventInserts;
  /** Coin rules of every game in {@link events}; undefined = not registered. */
  rules: ReadonlyMap<string, CoinRules | undefined>;
  /** Entries given up on, recorded in the same transaction. */
  deadLetters: readonly DeadLetterRow[];
  /**
   * Set when retention removes old events (EVENTS_RETENTION_DAYS): an event
   * new to `events` may then have been paid before its row was removed, so
   * coin events are looked up in the ledger before they are paid.
   */
  eventsMayBeRemoved?: boolean;
}

/** What one transaction wrote. */
export interface ApplyResult {
  /** Events that were new. */
  eventsStored: number;
  /** Ledger rows written. */
  awards: number;
  /** Coins those rows moved. */
  coinsAwarded: bigint;
  /** Whether some events were stored already, so the careful path ran. */
  replayed: boolean;
}

/**
 * Writes one read's worth of events inside the caller's transaction (READ
 * COMMITTED), idempotently:
 *
 * 1. insert all the events, skipping the ones stored already. When every one
 *    was new (the normal case), this transaction inserted each of them and holds
 *    its unique-key lock until commit: no other transaction can have paid one,
 *    or pay one now, so nothing needs looking up;
 * 2. lock the wallets of every player with a `LevelCompleted` event of a paying
 *    game, in user order; from here on no other transaction decides their coins.
 *    Taken after the big insert, so two workers insert events side by side and
 *    queue only for the short coin part;
 * 3. when some events were stored already (a replay, a resent batch), a count
 *    does not say which: the insert is rolled back to a savepoint, the wallets
 *    are locked, the coin events stored already are looked up, and only the new
 *    events are inserted (the order of old);
 * 4. award coins for the new coin events, within the daily caps read from
 *    `coin_daily_totals` (only for games that have a cap), and write the ledger;
 * 5. move the daily totals and the balances by exactly those rows.
 *
 * A racing transaction that stores a coin event first (a concurrent insert of
 * the same event, or a stale games cache) makes the ledger INSERT fail with a
 * duplicate key, and crossed locks make a deadlock; the caller treats both as a
 * conflict and retries: the ledger's unique key on the event makes paying twice
 * impossible either way.
 */
export async function applyBatch(conn: PoolConnection, input: ApplyInput): Promise<ApplyResult> {
  const { events, rules } = input;
  const candidates: ExpandedEvent[] = [];
  for (const e of events) if (e.type === "LevelCompleted" && paysCoins(rules.get(e.gameId))) candidates.push(e);
  const userIds = new Set<string>();
  for (const c of candidates) userIds.add(c.userId);

  const inserts = input.eventInserts ?? (await formatEventInserts(events));
  let fresh = candidates;
  let eventsStored: number;
  let replayed = false;
  if (candidates.length === 0) {
    eventsStored = await runEventInserts(conn, inserts);
  } else {
    await conn.query("SAVEPOINT before_events");
    eventsStored = await runEventInserts(conn, inserts);
    if (eventsStored === events.length) {
      await lockWallets(conn, userIds);
    } else {
      replayed = true;
      await conn.query("ROLLBACK TO SAVEPOINT before_events");
      await lockWallets(conn, userIds);
      // Read after the locks: READ COMMITTED sees every commit of the
      // transactions that held them before.
      const stored = await findStoredEvents(conn, candidates);
      const isNew = (e: ExpandedEvent) => !stored.has(eventKeyString(e));
      eventsStored = await insertEvents(conn, events.filter(isNew));
      fresh = candidates.filter(isNew);
    }
  }

  if (input.eventsMayBeRemoved && fresh.length > 0) {
    // After the wallet locks, like the lookup above.
    const paid = await findStoredEvents(conn, fresh, "coin_ledger");
    if (paid.size > 0) fresh = fresh.filter((e) => !paid.has(eventKeyString(e)));
  }
  let awards: CoinAward[] = [];
  if (fresh.length > 0) awards = computeCoinAwards(fresh, (gameId) => rules.get(gameId), await cappedTotals(conn, fresh, rules));
  if (awards.length > 0) {
    await insertLedgerRows(conn, awards);
    await addDailyTotals(conn, sumByDay(awards));
    await addToBalances(conn, sumByUser(awards));
  }
  await insertDeadLetters(conn, input.deadLetters);

  let coinsAwarded = 0n;
  for (const a of awards) coinsAwarded += a.amount;
  return { eventsStored, awards: awards.length, coinsAwarded, replayed };
}

// The coins awarded so far today, only where a daily cap makes them matter:
// without a cap every level pays the same, whatever the total.
async function cappedTotals(
  conn: PoolConnection,
  fresh: readonly ExpandedEvent[],
  rules: ReadonlyMap<string, CoinRules | undefined>,
): Promise<Map<string, bigint>> {
  const keys = new Map<string, { userId: string; gameId: string; day: string }>();
  for (const c of fresh) {
    if ((rules.get(c.gameId)?.dailyCoinCap ?? 0n) <= 0n) continue;
    const day = utcDay(c.receivedAtMs);
    keys.set(dayKey(c.userId, c.gameId, day), { userId: c.userId, gameId: c.gameId, day });
  }
  const before = new Map<string, bigint>();
  if (keys.size === 0) return before;
  for (const t of await selectDailyTotals(conn, [...keys.values()])) before.set(dayKey(t.userId, t.gameId, t.day), t.coins);
  return before;
}
