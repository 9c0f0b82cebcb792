/** Coin rules the benchmark registers for each of its games. */
export interface BenchGame {
  gameId: string;
  coinsPerLevel: number;
}

/** The benchmark's games: all pay coins, so 30% of events (LevelCompleted) touch the ledger and wallets. */
export function benchGames(count: number): BenchGame[] {
  return Array.from({ length: count }, (_, i) => ({ gameId: `com.playsmart.bench.game${i}`, coinsPerLevel: 10 }));
}

/**
 * Registers games through the admin API (`GameService/UpsertGame`, Connect
 * JSON), as an operator would. No daily cap, so the expected coins are exact:
 * coinsPerLevel for every LevelCompleted.
 */
export async function upsertGames(baseUrl: string, adminToken: string, games: readonly BenchGame[]): Promise<void> {
  for (const g of games) {
    const res = await fetch(`${baseUrl}/playsmart.games.v1.GameService/UpsertGame`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${adminToken}` },
      body: JSON.stringify({ game: { game_id: g.gameId, coins_enabled: true, coins_per_level: String(g.coinsPerLevel), daily_coin_cap: "0" } }),
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`UpsertGame ${g.gameId} answered ${res.status}: ${text}`);
  }
}
