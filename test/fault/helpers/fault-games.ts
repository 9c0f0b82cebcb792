import { testAdminToken } from "../../helpers/start-app.js";

/**
 * The games every fault scenario plays, with the coin rules the expectations
 * are computed from (README, "Coins"): one that pays every level, one capped per
 * player and UTC day, and one that is never registered (stored, pays nothing).
 */
export const faultGames = {
  coins: { gameId: "com.fault.coins", coinsPerLevel: 7n, dailyCoinCap: 0n },
  capped: { gameId: "com.fault.capped", coinsPerLevel: 5n, dailyCoinCap: 40n },
  free: { gameId: "com.fault.free" },
} as const;

/** The rules of a registered game, undefined for one that is not. */
export function rulesOf(gameId: string): { coinsPerLevel: bigint; dailyCoinCap: bigint } | undefined {
  if (gameId === faultGames.coins.gameId) return faultGames.coins;
  if (gameId === faultGames.capped.gameId) return faultGames.capped;
  return undefined;
}

/**
 * Registers the paying games through the admin API (`GameService/UpsertGame`
 * over Connect JSON with the test's ADMIN_TOKEN), as an operator would.
 */
export async function registerFaultGames(gatewayUrl: string): Promise<void> {
  for (const g of [faultGames.coins, faultGames.capped]) {
    const res = await fetch(`${gatewayUrl}/playsmart.games.v1.GameService/UpsertGame`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${testAdminToken}` },
      body: JSON.stringify({
        game: {
          game_id: g.gameId,
          coins_enabled: true,
          coins_per_level: String(g.coinsPerLevel),
          daily_coin_cap: String(g.dailyCoinCap),
        },
      }),
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`UpsertGame ${g.gameId} answered ${res.status}: ${text}`);
  }
}
