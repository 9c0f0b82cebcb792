import assert from "node:assert/strict";
import type { RowDataPacket } from "mysql2/promise";
import { encodeEntry } from "../../../src/stream/stream-entry.js";
import { streamKey } from "../../../src/stream/stream-keys.js";
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

describe("drain worker: storing and paying", function () {
  let env: DrainTestEnv;
  before(async () => {
    env = await createDrainTestEnv("drain_basics");
    await registerGame(env.pool, { gameId: "com.example.coins", coinsPerLevel: 10n });
    await registerGame(env.pool, { gameId: "com.example.capped", coinsPerLevel: 10n, dailyCoinCap: 25n });
    await registerGame(env.pool, { gameId: "com.example.off", coinsEnabled: false, coinsPerLevel: 10n });
  });
  afterEach(stopAllWorkers);
  after(async () => env.close());

  const eventsOf = (userId: string) => scalar(env.pool, "SELECT COUNT(*) FROM events WHERE user_id = ?", [userId]);
  const ledgerOf = (userId: string) => scalar(env.pool, "SELECT COUNT(*) FROM coin_ledger WHERE user_id = ?", [userId]);

  it("stores an event within 1 s on an idle system", async () => {
    const w = await startTestWorker(env, { config: { blockMs: 200 } });
    await new Promise((r) => setTimeout(r, 1200)); // idle: the worker sits in a blocking read
    const sentAt = Date.now();
    await env.producer.append(makeBatch({ userId: "idle-user", gameId: "com.example.coins", events: mixedEvents(1) }));
    await waitFor("the event in MySQL", async () => (await eventsOf("idle-user")) === 1, 1000, 5);
    const elapsed = Date.now() - sentAt;
    assert.ok(elapsed < 1000, `stored after ${elapsed} ms`);
    assert.equal(await balanceOf(env.pool, "idle-user"), 10n);
    await w.stop();
  });

  it("stores every column of JSON and binary bodies", async () => {
    const w = await startTestWorker(env);
    const receivedAtMs = Date.UTC(2026, 10, 26, 8, 0, 0, 123);
    const events = [
      { type: "LevelCompleted", timestamp: "2026-11-26T09:20:31.250+01:00", customdata: { level: 12, nested: { a: [1, "x"] } } },
      { type: "Custom", customEventName: "ChestOpened", timestamp: "2026-11-26T09:21:00.123456-05:30", event_id: "client-1" },
    ];
    const json = makeBatch({ userId: "cols-json", gameId: "com.example.coins", events, receivedAtMs });
    const pb = makeBatch({ userId: "cols-pb", gameId: "com.example.coins", events, receivedAtMs, format: "pb" });
    await env.producer.append(json);
    await env.producer.append(pb);
    await waitFor("both batches", async () => (await eventsOf("cols-json")) + (await eventsOf("cols-pb")) === 4);
    for (const [userId, batch] of [["cols-json", json], ["cols-pb", pb]] as const) {
      const [rows] = await env.pool.query<RowDataPacket[]>(
        `SELECT event_id, type, custom_event_name, occurred_at, utc_offset_min, customdata, batch_id, received_at
         FROM events WHERE user_id = ? ORDER BY occurred_at`,
        [userId],
      );
      assert.deepEqual(
        rows.map((r) => ({ ...r, customdata: typeof r.customdata === "string" ? JSON.parse(r.customdata) : r.customdata })),
        [
          {
            event_id: `${batch.batchId}:0`, type: "LevelCompleted", custom_event_name: null,
            occurred_at: "2026-11-26 08:20:31.250000", utc_offset_min: 60,
            customdata: { level: 12, nested: { a: [1, "x"] } }, batch_id: batch.batchId, received_at: "2026-11-26 08:00:00.123",
          },
          {
            event_id: "client-1", type: "Custom", custom_event_name: "ChestOpened",
            occurred_at: "2026-11-26 14:51:00.123456", utc_offset_min: -330,
            customdata: null, batch_id: batch.batchId, received_at: "2026-11-26 08:00:00.123",
          },
        ],
      );
      assert.equal(await balanceOf(env.pool, userId), 10n);
    }
    await w.stop();
  });

  it("stores and pays once when the same entry is appended twice", async () => {
    const w = await startTestWorker(env);
    const batch = makeBatch({ userId: "replay-user", gameId: "com.example.coins", events: mixedEvents(10) });
    const key = streamKey(env.prefix, 0);
    await env.redis.xadd(key, "*", ...encodeEntry(batch));
    await env.redis.xadd(key, "*", ...encodeEntry(batch));
    await waitFor("both entries acknowledged", async () => (await streamBacklog(env)).length === 0);
    await env.redis.xadd(key, "*", ...encodeEntry(batch)); // and once more in a later read
    await waitFor("the third entry acknowledged", async () => w.worker.stats.entriesRead === 3 && (await streamBacklog(env)).length === 0);
    assert.equal(await eventsOf("replay-user"), 10);
    assert.equal(await ledgerOf("replay-user"), 5);
    assert.equal(await balanceOf(env.pool, "replay-user"), 50n);
    await w.stop();
  });

  it("stores and pays once when an entry is delivered again after a commit it did not acknowledge", async () => {
    let failures = 0;
    const w = await startTestWorker(env, {
      config: { claimIdleMs: 200 },
      hooks: {
        // Behaves like a crash between COMMIT and XACK, once.
        afterCommit: async () => {
          if (failures++ === 0) throw new Error("simulated crash after commit");
        },
      },
    });
    await env.producer.append(makeBatch({ userId: "redeliver-user", gameId: "com.example.coins", events: mixedEvents(6) }));
    await waitFor("redelivery and acknowledgement", async () => {
      const backlog = await streamBacklog(env);
      return failures >= 2 && backlog.length === 0 && backlog.pending === 0;
    });
    assert.equal(w.worker.stats.entriesRead, 2, "the entry was delivered twice");
    assert.equal(await eventsOf("redeliver-user"), 6);
    assert.equal(await ledgerOf("redeliver-user"), 3);
    assert.equal(await balanceOf(env.pool, "redeliver-user"), 30n);
    await w.stop();
  });

  it("stores and pays once a batch resent with the same event_ids, in one read and across reads", async () => {
    const w = await startTestWorker(env);
    const events = mixedEvents(8, "resend");
    // A client resending after a timeout: same ids, a new batch id each time.
    await env.producer.append(makeBatch({ userId: "resend-user", gameId: "com.example.coins", events }));
    await env.producer.append(makeBatch({ userId: "resend-user", gameId: "com.example.coins", events }));
    await waitFor("the first two copies", async () => (await streamBacklog(env)).length === 0);
    await env.producer.append(makeBatch({ userId: "resend-user", gameId: "com.example.coins", events, format: "pb" }));
    await waitFor("the third copy", async () => w.worker.stats.entriesRead === 3 && (await streamBacklog(env)).length === 0);
    assert.equal(await eventsOf("resend-user"), 8);
    assert.equal(await ledgerOf("resend-user"), 4);
    assert.equal(await balanceOf(env.pool, "resend-user"), 40n);
    await w.stop();
  });

  it("keeps event ids that differ only by trailing spaces apart, and dead-letters ids with lone surrogates", async () => {
    const w = await startTestWorker(env);
    const lc = (event_id: string) => ({ type: "LevelCompleted", timestamp: "2026-11-26T09:00:00Z", event_id });
    // event_id is NO PAD: "pad", "pad " and "pad  " are three events.
    await env.producer.append(makeBatch({ userId: "pad-user", gameId: "com.example.coins", events: [lc("pad"), lc("pad  ")] }));
    await env.producer.append(makeBatch({ userId: "pad-user", gameId: "com.example.coins", events: [lc("pad "), lc("pad")] }));
    // A lone surrogate has no UTF-8 form; the gateway refuses it, the worker too.
    await env.producer.append(makeBatch({ userId: "pad-user", gameId: "com.example.coins", events: [lc("s\ud800")] }));
    await waitFor("all three entries", async () => w.worker.stats.entriesRead === 3 && (await streamBacklog(env)).length === 0);
    assert.equal(await eventsOf("pad-user"), 3);
    assert.equal(await ledgerOf("pad-user"), 3);
    assert.equal(await balanceOf(env.pool, "pad-user"), 30n);
    assert.equal(w.worker.stats.deadLetters, 1);
    assert.equal(w.worker.stats.conflictRetries, 0);
  });

  it("pays nothing for unregistered or disabled games, and caps coins per UTC day of receipt", async () => {
    const w = await startTestWorker(env);
    const day1 = Date.UTC(2026, 10, 26, 23, 59, 59, 999);
    const day2 = Date.UTC(2026, 10, 27, 0, 0, 0, 0);
    const lc = (n: number) => Array.from({ length: n }, () => ({ type: "LevelCompleted", timestamp: "2026-11-26T23:59:00Z" }));
    await env.producer.append(makeBatch({ userId: "rules-user", gameId: "com.example.unregistered", events: lc(3), receivedAtMs: day1 }));
    await env.producer.append(makeBatch({ userId: "rules-user", gameId: "com.example.off", events: lc(3), receivedAtMs: day1 }));
    await env.producer.append(makeBatch({ userId: "rules-user", gameId: "com.example.capped", events: lc(2), receivedAtMs: day1 }));
    await env.producer.append(makeBatch({ userId: "rules-user", gameId: "com.example.capped", events: lc(2), receivedAtMs: day1 }));
    await env.producer.append(makeBatch({ userId: "rules-user", gameId: "com.example.capped", events: lc(1), receivedAtMs: day2 }));
    await waitFor("all five batches", async () => (await eventsOf("rules-user")) === 11);
    const [ledger] = await env.pool.query<RowDataPacket[]>(
      "SELECT game_id, amount FROM coin_ledger WHERE user_id = ? ORDER BY seq",
      ["rules-user"],
    );
    assert.deepEqual(
      ledger.map((r) => [r.game_id, r.amount]),
      [["com.example.capped", "10"], ["com.example.capped", "10"], ["com.example.capped", "5"], ["com.example.capped", "10"]],
    );
    const [totals] = await env.pool.query<RowDataPacket[]>(
      "SELECT game_id, DATE_FORMAT(day, '%Y-%m-%d') AS day, coins FROM coin_daily_totals WHERE user_id = ? ORDER BY day",
      ["rules-user"],
    );
    assert.deepEqual(
      totals.map((r) => [r.game_id, r.day, r.coins]),
      [["com.example.capped", "2026-11-26", "25"], ["com.example.capped", "2026-11-27", "10"]],
    );
    assert.equal(await balanceOf(env.pool, "rules-user"), 35n);
    await w.stop();
  });

  it("finishes and acknowledges the batch in hand when stopped", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inTransaction = new Promise<void>((r) => (entered = r));
    const w = await startTestWorker(env, {
      hooks: {
        beforeCommit: async () => {
          entered();
          await gate;
        },
      },
    });
    await env.producer.append(makeBatch({ userId: "stop-user", gameId: "com.example.coins", events: mixedEvents(4) }));
    await inTransaction;
    const stopped = w.stop();
    release();
    await stopped;
    assert.equal(await eventsOf("stop-user"), 4);
    assert.equal(await balanceOf(env.pool, "stop-user"), 20n);
    assert.deepEqual(await streamBacklog(env), { length: 0, pending: 0 });
  });
});
