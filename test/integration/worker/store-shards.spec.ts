import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { keyRangeName, storeShardOf } from "../../../src/store/store-shard.js";
import type { DrainHookInfo } from "../../../src/worker/drain-worker.js";
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

describe("shard-aware batching for a store sharded by user_id (STORE_SHARDS)", function () {
  this.timeout(30_000);
  let env: DrainTestEnv;
  before(async () => {
    env = await createDrainTestEnv("store_shards");
    await registerGame(env.pool, { gameId: "com.example.vitess", coinsPerLevel: 2n });
  });
  after(async () => {
    await stopAllWorkers();
    await env.close();
  });

  it("maps user ids to Vitess binary_md5 key ranges", () => {
    for (const user of ["a", "player-1", "01a2164a-c482-76c5-95f2-c4cada1bb0da"]) {
      const firstByte = createHash("md5").update(user).digest()[0]!;
      assert.equal(storeShardOf(user, 4), Math.floor(firstByte / 64), user);
      assert.equal(storeShardOf(user, 1), 0);
    }
    assert.deepEqual([0, 1, 2, 3].map((i) => keyRangeName(i, 4)), ["-40", "40-80", "80-c0", "c0-"]);
    assert.deepEqual([0, 1].map((i) => keyRangeName(i, 2)), ["-80", "80-"]);
  });

  it("commits each read as one transaction per shard key range, and stores and pays everything", async () => {
    const transactions: DrainHookInfo[] = [];
    const w = await startTestWorker(env, {
      config: { storeShards: 4, readCount: 500 },
      hooks: { beforeCommit: async (info) => void transactions.push(info) },
    });
    const users = Array.from({ length: 40 }, (_, i) => `vt-user-${i}`);
    await w.worker.stop(); // fill the stream first so one read spans every shard
    for (const u of users) await env.producer.append(makeBatch({ userId: u, gameId: "com.example.vitess", events: mixedEvents(6) }));
    const w2 = await startTestWorker(env, {
      config: { storeShards: 4, readCount: 500 },
      hooks: { beforeCommit: async (info) => void transactions.push(info) },
    });
    await waitFor("drained", async () => {
      const b = await streamBacklog(env);
      return b.length === 0 && b.pending === 0;
    });
    assert.equal(w2.worker.stats.eventsStored, 240);
    assert.equal(await scalar(env.pool, "SELECT COUNT(*) FROM events WHERE user_id LIKE 'vt-user-%'"), 240);
    for (const u of users) assert.equal(await balanceOf(env.pool, u), 6n);
    const withRows = transactions.filter((t) => t.userIds.length > 0);
    assert.ok(withRows.length >= 4, `one transaction per shard at least (${withRows.length})`);
    for (const t of withRows) {
      const ranges = new Set(t.userIds.map((u) => storeShardOf(u, 4)));
      assert.equal(ranges.size, 1, `transaction over entries ${t.entryIds.length} touches ${ranges.size} key ranges`);
    }
    // Every shard had players, so the check above covered all four ranges.
    assert.equal(new Set(users.map((u) => storeShardOf(u, 4))).size, 4);
  });

  it("without it (STORE_SHARDS=1) one transaction spans several key ranges: the check above can fail", async () => {
    await stopAllWorkers();
    const transactions: DrainHookInfo[] = [];
    const users = Array.from({ length: 40 }, (_, i) => `vt-plain-${i}`);
    for (const u of users) await env.producer.append(makeBatch({ userId: u, gameId: "com.example.vitess", events: mixedEvents(2) }));
    await startTestWorker(env, { config: { storeShards: 1, readCount: 500 }, hooks: { beforeCommit: async (info) => void transactions.push(info) } });
    await waitFor("drained", async () => {
      const b = await streamBacklog(env);
      return b.length === 0 && b.pending === 0;
    });
    const spans = transactions.map((t) => new Set(t.userIds.map((u) => storeShardOf(u, 4))).size);
    assert.ok(Math.max(...spans) > 1, `spans ${spans.join(",")}`);
  });
});
