import assert from "node:assert/strict";
import {
  balanceOf,
  createDrainTestEnv,
  makeBatch,
  mixedEvents,
  registerGame,
  scalar,
  startTestWorker,
  stopAllWorkers,
  streamBacklog,
  waitFor,
  type DrainTestEnv,
} from "./worker-harness.js";

// The worker inserts a read's events first and looks up stored coin events only
// when the insert reports duplicates. These reads mix stored and new events, so
// that slower path must pay exactly the new ones, and must not hold back the
// other players of the read.
describe("drain worker: reads that mix stored and new events", function () {
  let env: DrainTestEnv;
  before(async () => {
    env = await createDrainTestEnv("drain_partial_replay");
    await registerGame(env.pool, { gameId: "com.example.coins", coinsPerLevel: 10n });
    await registerGame(env.pool, { gameId: "com.example.capped", coinsPerLevel: 10n, dailyCoinCap: 25n });
  });
  afterEach(stopAllWorkers);
  after(async () => env.close());

  const eventsOf = (userId: string) => scalar(env.pool, "SELECT COUNT(*) FROM events WHERE user_id = ?", [userId]);
  const ledgerOf = (userId: string) => scalar(env.pool, "SELECT COUNT(*) FROM coin_ledger WHERE user_id = ?", [userId]);

  it("pays only the new coin events of a batch resent with more events, and the other players in full", async () => {
    const first = mixedEvents(6, "grow");
    let w = await startTestWorker(env);
    await env.producer.append(makeBatch({ userId: "grow-user", gameId: "com.example.coins", events: first }));
    await waitFor("the first batch", async () => (await streamBacklog(env)).length === 0 && (await eventsOf("grow-user")) === 6);
    await w.stop();

    // One read: the batch again with 6 more events, a new player, and a capped game.
    const grown = mixedEvents(12, "grow");
    await env.producer.append(makeBatch({ userId: "grow-user", gameId: "com.example.coins", events: grown }));
    await env.producer.append(makeBatch({ userId: "grow-other", gameId: "com.example.coins", events: mixedEvents(4, "other") }));
    await env.producer.append(makeBatch({ userId: "grow-user", gameId: "com.example.capped", events: mixedEvents(10, "cap") }));
    w = await startTestWorker(env);
    await waitFor("the mixed read", async () => (await streamBacklog(env)).length === 0 && w.worker.stats.entriesRead === 3);

    assert.equal(await eventsOf("grow-user"), 12 + 10);
    assert.equal(await ledgerOf("grow-user"), 6 + 3, "6 levels of coins.com, 3 under the cap of 25");
    assert.equal(await balanceOf(env.pool, "grow-user"), 60n + 25n);
    assert.equal(await eventsOf("grow-other"), 4);
    assert.equal(await balanceOf(env.pool, "grow-other"), 20n);

    // And the whole read once more: nothing new to store or pay.
    await env.producer.append(makeBatch({ userId: "grow-user", gameId: "com.example.coins", events: grown }));
    await env.producer.append(makeBatch({ userId: "grow-user", gameId: "com.example.capped", events: mixedEvents(10, "cap") }));
    await waitFor("the replayed read", async () => (await streamBacklog(env)).length === 0 && w.worker.stats.entriesRead === 5);
    assert.equal(await eventsOf("grow-user"), 22);
    assert.equal(await ledgerOf("grow-user"), 9);
    assert.equal(await balanceOf(env.pool, "grow-user"), 85n);
    await w.stop();
  });
});
