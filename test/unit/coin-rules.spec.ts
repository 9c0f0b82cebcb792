import assert from "node:assert/strict";
import {
  computeCoinAwards,
  dayKey,
  paysCoins,
  sumByDay,
  sumByUser,
  utcDay,
  type CoinCandidate,
  type CoinRules,
} from "../../src/worker/coin-rules.js";

const noon = Date.UTC(2026, 10, 26, 12, 0, 0);
const lastMsOfDay = Date.UTC(2026, 10, 26, 23, 59, 59, 999);
const nextMidnight = Date.UTC(2026, 10, 27, 0, 0, 0, 0);

const rules: Record<string, CoinRules> = {
  "com.example.open": { coinsEnabled: true, coinsPerLevel: 10n, dailyCoinCap: 0n },
  "com.example.capped": { coinsEnabled: true, coinsPerLevel: 10n, dailyCoinCap: 25n },
  "com.example.off": { coinsEnabled: false, coinsPerLevel: 10n, dailyCoinCap: 0n },
  "com.example.zero": { coinsEnabled: true, coinsPerLevel: 0n, dailyCoinCap: 0n },
};
const rulesOf = (gameId: string) => rules[gameId];

let n = 0;
function event(gameId: string, overrides: Partial<CoinCandidate> = {}): CoinCandidate {
  return { userId: "u1", gameId, eventId: `e${n++}`, type: "LevelCompleted", batchId: "b1", receivedAtMs: noon, ...overrides };
}
const amounts = (awards: ReturnType<typeof computeCoinAwards>) => awards.map((a) => a.amount);

describe("coin rules", () => {
  it("pays coins_per_level for each LevelCompleted of an enabled game without a cap", () => {
    const events = [event("com.example.open"), event("com.example.open"), event("com.example.open")];
    const awards = computeCoinAwards(events, rulesOf, new Map());
    assert.deepEqual(amounts(awards), [10n, 10n, 10n]);
    assert.deepEqual(awards[0], { userId: "u1", gameId: "com.example.open", eventId: events[0]!.eventId, batchId: "b1", day: "2026-11-26", amount: 10n });
  });

  it("pays nothing for unregistered games, disabled games, or 0 coins per level", () => {
    const events = [event("com.example.unknown"), event("com.example.off"), event("com.example.zero")];
    assert.deepEqual(computeCoinAwards(events, rulesOf, new Map()), []);
    assert.equal(paysCoins(undefined), false);
    assert.equal(paysCoins(rules["com.example.off"]), false);
    assert.equal(paysCoins(rules["com.example.zero"]), false);
    assert.equal(paysCoins(rules["com.example.open"]), true);
  });

  it("pays only LevelCompleted events in a mixed batch, in order", () => {
    const events = [
      event("com.example.open", { type: "AppOpen" }),
      event("com.example.open", { eventId: "lc-1" }),
      event("com.example.open", { type: "Custom" }),
      event("com.example.unknown"),
      event("com.example.open", { type: "GameEnd" }),
      event("com.example.open", { eventId: "lc-2" }),
      event("com.example.open", { type: "IAPPurchase" }),
      event("com.example.open", { type: "AdImpression" }),
    ];
    assert.deepEqual(computeCoinAwards(events, rulesOf, new Map()).map((a) => a.eventId), ["lc-1", "lc-2"]);
  });

  it("cuts the award that reaches the daily cap and skips the rest of the day", () => {
    const events = [event("com.example.capped"), event("com.example.capped"), event("com.example.capped"), event("com.example.capped")];
    assert.deepEqual(amounts(computeCoinAwards(events, rulesOf, new Map())), [10n, 10n, 5n]);
  });

  it("counts coins awarded earlier that day against the cap", () => {
    const before = new Map([[dayKey("u1", "com.example.capped", "2026-11-26"), 20n]]);
    assert.deepEqual(amounts(computeCoinAwards([event("com.example.capped"), event("com.example.capped")], rulesOf, before)), [5n]);
    const full = new Map([[dayKey("u1", "com.example.capped", "2026-11-26"), 25n]]);
    assert.deepEqual(computeCoinAwards([event("com.example.capped")], rulesOf, full), []);
    // Over the cap already (the cap was lowered since): nothing, never a negative award.
    const over = new Map([[dayKey("u1", "com.example.capped", "2026-11-26"), 40n]]);
    assert.deepEqual(computeCoinAwards([event("com.example.capped")], rulesOf, over), []);
  });

  it("starts a new cap at the UTC day boundary of the gateway's receive time", () => {
    const before = new Map([[dayKey("u1", "com.example.capped", "2026-11-26"), 25n]]);
    const events = [
      event("com.example.capped", { receivedAtMs: lastMsOfDay }),
      event("com.example.capped", { receivedAtMs: nextMidnight }),
      event("com.example.capped", { receivedAtMs: nextMidnight + 1 }),
      event("com.example.capped", { receivedAtMs: nextMidnight + 2 }),
    ];
    const awards = computeCoinAwards(events, rulesOf, before);
    assert.deepEqual(awards.map((a) => [a.day, a.amount]), [["2026-11-27", 10n], ["2026-11-27", 10n], ["2026-11-27", 5n]]);
  });

  it("keeps caps apart per player and per game", () => {
    const events = [
      event("com.example.capped", { userId: "u1" }),
      event("com.example.capped", { userId: "u2" }),
      event("com.example.capped", { userId: "u1" }),
      event("com.example.capped", { userId: "u1" }),
      event("com.example.open", { userId: "u1" }),
      event("com.example.capped", { userId: "u2" }),
    ];
    const before = new Map([[dayKey("u2", "com.example.capped", "2026-11-26"), 15n]]);
    const awards = computeCoinAwards(events, rulesOf, before);
    assert.deepEqual(awards.map((a) => [a.userId, a.gameId, a.amount]), [
      ["u1", "com.example.capped", 10n],
      ["u2", "com.example.capped", 10n],
      ["u1", "com.example.capped", 10n],
      ["u1", "com.example.capped", 5n],
      ["u1", "com.example.open", 10n],
    ]);
    assert.deepEqual(sumByUser(awards), new Map([["u1", 35n], ["u2", 10n]]));
    assert.deepEqual(
      sumByDay(awards).map((d) => [d.userId, d.gameId, d.day, d.coins]),
      [["u1", "com.example.capped", "2026-11-26", 25n], ["u2", "com.example.capped", "2026-11-26", 10n], ["u1", "com.example.open", "2026-11-26", 10n]],
    );
  });

  it("handles amounts beyond 2^53 exactly", () => {
    const big: CoinRules = { coinsEnabled: true, coinsPerLevel: 2n ** 60n, dailyCoinCap: 2n ** 61n + 1n };
    const awards = computeCoinAwards([event("g"), event("g"), event("g")], () => big, new Map());
    assert.deepEqual(amounts(awards), [2n ** 60n, 2n ** 60n, 1n]);
  });

  it("names UTC days", () => {
    assert.equal(utcDay(lastMsOfDay), "2026-11-26");
    assert.equal(utcDay(nextMidnight), "2026-11-27");
  });
});
