import assert from "node:assert/strict";
import type { RowDataPacket } from "mysql2/promise";
import { consumerGroup, shardOf, streamKey } from "../../../src/stream/stream-keys.js";
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
  type TestEvent,
} from "./worker-harness.js";

describe("drain worker: two workers in one group", function () {
  this.timeout(60_000);
  let env: DrainTestEnv;
  before(async () => {
    env = await createDrainTestEnv("drain_two_workers", 2);
    await registerGame(env.pool, { gameId: "com.example.open", coinsPerLevel: 7n });
    await registerGame(env.pool, { gameId: "com.example.capped", coinsPerLevel: 5n, dailyCoinCap: 60n });
  });
  afterEach(stopAllWorkers);
  after(async () => env.close());

  it("stores each of 10,000 events once and pays 100 players exactly", async () => {
    const players = 100;
    const batchesPerPlayer = 5;
    const eventsPerBatch = 20;
    const receivedAtMs = Date.UTC(2026, 10, 26, 12, 0, 0);
    const batchOf = (p: number, b: number) => {
      const events: TestEvent[] = Array.from({ length: eventsPerBatch }, (_, i) => ({
        type: i % 2 === 0 ? "LevelCompleted" : "GameEnd",
        timestamp: `2026-11-26T10:${String(b * 10 + (i % 10)).padStart(2, "0")}:00Z`,
        customdata: { level: i },
        event_id: `p${p}-b${b}-e${i}`,
      }));
      // Batches 0, 2, 4 in the uncapped game, 1 and 3 in the capped one.
      const gameId = b % 2 === 0 ? "com.example.open" : "com.example.capped";
      return makeBatch({ userId: `player-${String(p).padStart(3, "0")}`, gameId, events, receivedAtMs });
    };

    const workers = [
      await startTestWorker(env, { config: { readCount: 50 } }),
      await startTestWorker(env, { config: { readCount: 50 } }),
    ];
    // One shard each: the leases spread the two shards over the two workers.
    await waitFor("the shards spread over both workers", async () =>
      workers.every((w) => w.worker.heldShards().length === 1),
    );
    // Every player's first batch is sent twice (a client retry under a new batch
    // id), a whole round of batches apart, so the copies land in different reads
    // that the two workers apply at the same time.
    const appends: Array<Promise<string>> = [];
    for (const b of [0, 0, 1, 2, 3, 4]) {
      for (let p = 0; p < players; p++) appends.push(env.producer.append(batchOf(p, b)));
    }
    await Promise.all(appends);
    const total = players * batchesPerPlayer * eventsPerBatch;
    await waitFor("every entry drained", async () => {
      const backlog = await streamBacklog(env);
      return backlog.length === 0 && backlog.pending === 0;
    }, 45_000, 100);

    assert.equal(await scalar(env.pool, "SELECT COUNT(*) FROM events"), total);
    assert.equal(
      await scalar(env.pool, "SELECT COUNT(*) FROM (SELECT 1 FROM events GROUP BY user_id, game_id, event_id) k"),
      total,
    );
    // Per player: 3 uncapped batches x 10 levels x 7 = 210; 2 capped batches x
    // 10 levels x 5 = 100, capped at 60 (12 awards).
    const [wallets] = await env.pool.query<RowDataPacket[]>("SELECT user_id, balance FROM wallets ORDER BY user_id");
    assert.equal(wallets.length, players);
    for (const w of wallets) assert.equal(w.balance, "270", `balance of ${w.user_id}`);
    assert.equal(await scalar(env.pool, "SELECT COUNT(*) FROM coin_ledger"), players * 42);
    assert.equal(await scalar(env.pool, "SELECT COUNT(*) FROM coin_ledger WHERE game_id = 'com.example.capped'"), players * 12);
    const [sums] = await env.pool.query<RowDataPacket[]>(
      `SELECT COUNT(*) AS n FROM wallets w
       WHERE w.balance <> (SELECT COALESCE(SUM(amount), 0) FROM coin_ledger l WHERE l.user_id = w.user_id)`,
    );
    assert.equal(Number(sums[0]!.n), 0, "every balance equals its ledger");
    assert.equal(await scalar(env.pool, "SELECT COUNT(*) FROM coin_daily_totals WHERE game_id = 'com.example.capped' AND coins <> 60"), 0);

    const stats = workers.map((w) => w.worker.stats);
    assert.ok(stats.every((s) => s.entriesRead > 0), "both workers took part");
    assert.equal(stats[0]!.eventsStored + stats[1]!.eventsStored, total);
    assert.equal(stats[0]!.coinsAwarded + stats[1]!.coinsAwarded, BigInt(players * 270));
  });

  it("hands a joining worker its share of the shards within a few batches, not a lease period", async () => {
    // Lease period (ttl / 3) of 4 s: before, the joiner waited for its next
    // lease tick (4 s) and the holder for its next shed period; now the holder
    // sheds after its current batch and the joiner takes the shard at once.
    const config = { readCount: 5, leaseTtlMs: 12_000, claimIdleMs: 30_000 };
    const entries = 600;
    const appends: Array<Promise<string>> = [];
    for (let i = 0; i < entries; i++) {
      appends.push(env.producer.append(makeBatch({ userId: `join-${i % 50}`, gameId: "com.example.open", events: mixedEvents(2, `j${i}-`) })));
    }
    await Promise.all(appends);
    // Paced, so the first worker is still busy with both shards when the second joins.
    const paced = { beforeCommit: () => new Promise<void>((r) => setTimeout(r, 30)) };
    const a = await startTestWorker(env, { config, hooks: paced });
    await waitFor("the first worker to hold both shards and commit", async () =>
      a.worker.heldShards().length === 2 && a.worker.stats.transactionsCommitted > 0,
    );
    const b = await startTestWorker(env, { config, hooks: paced });
    const joined = performance.now();
    await waitFor("one shard each", async () => a.worker.heldShards().length === 1 && b.worker.heldShards().length === 1, 10_000, 10);
    const handOverMs = performance.now() - joined;
    assert.ok(handOverMs < 2500, `the joining worker got its shard after ${Math.round(handOverMs)} ms`);
    assert.ok((await streamBacklog(env)).length > 0, "the first worker was still busy when the second joined");
    await waitFor("every entry drained", async () => {
      const backlog = await streamBacklog(env);
      return backlog.length === 0 && backlog.pending === 0;
    }, 45_000, 100);
    assert.equal(await scalar(env.pool, "SELECT COUNT(*) FROM events WHERE user_id LIKE 'join-%'"), entries * 2);
    assert.ok(b.worker.stats.eventsStored > 0, "the second worker stored events");
  });

  it("pays once when a second worker claims an entry while the first is still applying it", async () => {
    const key = streamKey(env.prefix, shardOf("race-user", env.shards));
    let claimedByB = false;
    // A stalls longer than its claimIdleMs: it stops renewing the shard's lease,
    // B takes the shard over and claims the entry A is still applying.
    const a = await startTestWorker(env, {
      config: { claimIdleMs: 300, leaseTtlMs: 300 },
      hooks: {
        // Holds the transaction open (wallet locked, rows written) until worker
        // B has claimed the entry and is blocked behind the lock.
        beforeCommit: async () => {
          await waitFor("worker B to claim the entry", async () => {
            const rows = (await env.redis.xpending(key, consumerGroup, "-", "+", 10)) as Array<[string, string]>;
            return rows.some((r) => r[1] === b?.consumer);
          });
          claimedByB = true;
          await new Promise((r) => setTimeout(r, 200));
        },
      },
    });
    let b: { consumer: string } | undefined;
    await env.producer.append(makeBatch({ userId: "race-user", gameId: "com.example.open", events: mixedEvents(6) }));
    await waitFor("worker A to read the entry", async () => a.worker.stats.entriesRead === 1);
    const consumer = "race-worker-b";
    b = { consumer };
    const wb = await startTestWorker(env, { config: { consumerName: consumer, claimIdleMs: 100, leaseTtlMs: 300 } });
    await waitFor("both workers done", async () => {
      const backlog = await streamBacklog(env);
      return claimedByB && wb.worker.stats.transactionsCommitted >= 1 && backlog.length === 0 && backlog.pending === 0;
    });
    assert.equal(await scalar(env.pool, "SELECT COUNT(*) FROM events WHERE user_id = 'race-user'"), 6);
    assert.equal(await scalar(env.pool, "SELECT COUNT(*) FROM coin_ledger WHERE user_id = 'race-user'"), 3);
    assert.equal(await balanceOf(env.pool, "race-user"), 21n);
    assert.equal(a.worker.stats.eventsStored, 6);
    assert.equal(wb.worker.stats.entriesRead, 1, "worker B applied the entry too");
    assert.equal(wb.worker.stats.eventsStored, 0);
    assert.equal(wb.worker.stats.coinsAwarded, 0n);
  });
});
