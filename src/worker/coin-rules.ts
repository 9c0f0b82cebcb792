/**
 * The coin rules, as a pure function: which events pay how much. No I/O, so the
 * rules are tested without a database and the worker only feeds them the
 * current totals it read under the players' wallet locks.
 */
import { utcDate } from "../ingest/utc-datetime.js";

/** A game's coin rules (a registered game's row of `games`). */
export interface CoinRules {
  coinsEnabled: boolean;
  coinsPerLevel: bigint;
  /** Most coins per player per UTC day in this game; 0 means no cap. */
  dailyCoinCap: bigint;
}

/** A newly stored event that may earn coins. */
export interface CoinCandidate {
  userId: string;
  gameId: string;
  eventId: string;
  /** Only `LevelCompleted` pays. */
  type: string;
  batchId: string;
  /** When the gateway accepted the batch; its UTC day is the day of the cap. */
  receivedAtMs: number;
}

/** One award: a ledger row to write. */
export interface CoinAward {
  userId: string;
  gameId: string;
  eventId: string;
  batchId: string;
  /** UTC day (`YYYY-MM-DD`) the coins count against. */
  day: string;
  amount: bigint;
}

/** The UTC calendar day of an instant, `YYYY-MM-DD`. */
export function utcDay(epochMs: number): string {
  return utcDate(epochMs);
}

/** Key of the coins one player earned in one game on one day. */
export function dayKey(userId: string, gameId: string, day: string): string {
  return `${userId}\u0000${gameId}\u0000${day}`;
}

/** Whether a game's `LevelCompleted` events can earn anything at all. */
export function paysCoins(rules: CoinRules | undefined): rules is CoinRules {
  return rules !== undefined && rules.coinsEnabled && rules.coinsPerLevel > 0n;
}

/**
 * The awards for `candidates`, taken in order. Each `LevelCompleted` event of a
 * game with coins enabled earns `coinsPerLevel`, cut down to what is left of the
 * game's daily cap for that player on the batch's UTC receive day; an event that
 * would earn nothing gets no award. Events of unregistered or disabled games, and
 * other event types, earn nothing.
 *
 * @param rulesOf the rules of a game, undefined when it is not registered.
 * @param awardedBefore coins already awarded per {@link dayKey}; missing = 0.
 */
export function computeCoinAwards(
  candidates: readonly CoinCandidate[],
  rulesOf: (gameId: string) => CoinRules | undefined,
  awardedBefore: ReadonlyMap<string, bigint>,
): CoinAward[] {
  const awarded = new Map<string, bigint>();
  const awards: CoinAward[] = [];
  for (const c of candidates) {
    if (c.type !== "LevelCompleted") continue;
    const rules = rulesOf(c.gameId);
    if (!paysCoins(rules)) continue;
    const day = utcDay(c.receivedAtMs);
    const key = dayKey(c.userId, c.gameId, day);
    const sofar = awarded.get(key) ?? awardedBefore.get(key) ?? 0n;
    let amount = rules.coinsPerLevel;
    if (rules.dailyCoinCap > 0n) {
      const left = rules.dailyCoinCap - sofar;
      if (left < amount) amount = left;
    }
    if (amount <= 0n) continue;
    awarded.set(key, sofar + amount);
    awards.push({ userId: c.userId, gameId: c.gameId, eventId: c.eventId, batchId: c.batchId, day, amount });
  }
  return awards;
}

/** Coins per player, to move wallet balances by. */
export function sumByUser(awards: readonly CoinAward[]): Map<string, bigint> {
  const sums = new Map<string, bigint>();
  for (const a of awards) sums.set(a.userId, (sums.get(a.userId) ?? 0n) + a.amount);
  return sums;
}

/** Coins per (user, game, day), to add to the daily totals. */
export function sumByDay(awards: readonly CoinAward[]): Array<{ userId: string; gameId: string; day: string; coins: bigint }> {
  const sums = new Map<string, { userId: string; gameId: string; day: string; coins: bigint }>();
  for (const a of awards) {
    const key = dayKey(a.userId, a.gameId, a.day);
    const s = sums.get(key);
    if (s) s.coins += a.amount;
    else sums.set(key, { userId: a.userId, gameId: a.gameId, day: a.day, coins: a.amount });
  }
  return [...sums.values()];
}
