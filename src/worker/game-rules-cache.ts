import type { Pool } from "mysql2/promise";
import { selectGames } from "../store/games-repo.js";
import type { CoinRules } from "./coin-rules.js";

/** Options of {@link createGameRulesCache}. */
export interface GameRulesCacheOptions {
  pool: Pool;
  /** How long a game's rules (or its absence) are reused, in ms; 0 reads every time. */
  ttlMs: number;
  /** Clock, for tests. @default Date.now */
  now?: () => number;
}

/** Coin rules of games, read from MySQL `games` and kept for a short while. */
export interface GameRulesCache {
  /**
   * The rules of each of `gameIds`; a game that is not registered maps to
   * undefined. Reads only the games not cached or expired, in one query.
   */
  rulesFor(gameIds: Iterable<string>): Promise<Map<string, CoinRules | undefined>>;
}

/**
 * A per-process cache of coin rules, so a busy worker reads `games` about once
 * per game per TTL instead of once per batch. A rule change reaches the worker
 * within the TTL; unregistered games are cached too, so a game registered after
 * its first events starts paying within the TTL as well.
 */
export function createGameRulesCache(options: GameRulesCacheOptions): GameRulesCache {
  const now = options.now ?? Date.now;
  const cache = new Map<string, { rules: CoinRules | undefined; expiresAt: number }>();
  return {
    async rulesFor(gameIds) {
      const t = now();
      const result = new Map<string, CoinRules | undefined>();
      const missing: string[] = [];
      for (const id of new Set(gameIds)) {
        const hit = cache.get(id);
        if (hit !== undefined && hit.expiresAt > t) result.set(id, hit.rules);
        else missing.push(id);
      }
      if (missing.length > 0) {
        const found = new Map((await selectGames(options.pool, missing)).map((g) => [g.gameId, g]));
        const expiresAt = now() + options.ttlMs;
        for (const id of missing) {
          const g = found.get(id);
          const rules = g && { coinsEnabled: g.coinsEnabled, coinsPerLevel: g.coinsPerLevel, dailyCoinCap: g.dailyCoinCap };
          result.set(id, rules);
          if (options.ttlMs > 0) cache.set(id, { rules, expiresAt });
        }
        // Games seen once and never again would otherwise stay forever.
        if (cache.size > 10_000) for (const [id, v] of cache) if (v.expiresAt <= t) cache.delete(id);
      }
      return result;
    },
  };
}
