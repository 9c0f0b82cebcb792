import assert from "node:assert/strict";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import type { RowDataPacket } from "mysql2/promise";
import { GameService } from "../../../gen/playsmart/games/v1/games_pb.js";
import { parsePrometheusText, sampleValue } from "../../helpers/prometheus-text.js";
import { seedEvents } from "../../helpers/seed-events.js";
import { registerPlayer, startTestApp, testAdminToken, type TestApp, type TestPlayer } from "../../helpers/start-app.js";
import { waitFor } from "../../helpers/wait-for.js";

const game = "com.retention.coins";


describe("events retention (EVENTS_RETENTION_DAYS)", function () {
  this.timeout(60_000);
  let app: TestApp;
  const count = async (sql: string, params: unknown[] = []) => {
    const [rows] = await app.pool.query<RowDataPacket[]>(sql, params);
    return Number(Object.values(rows[0]!)[0]);
  };
  const ingest = async (who: TestPlayer, ids: string[]) => {
    const res = await fetch(`${app.url}/ingest/events`, {
      method: "POST",
      headers: { authorization: `Bearer ${who.accessToken}`, "content-type": "application/json" },
      body: JSON.stringify({
        user_id: who.userId,
        game_id: game,
        events: ids.map((id) => ({ type: "LevelCompleted", timestamp: "2026-12-01T10:00:00Z", event_id: id })),
      }),
    });
    assert.equal(res.status, 202);
  };
  const deletedMetric = async () =>
    sampleValue(parsePrometheusText(await app.metrics.registry.metrics()), "playsmart_retention_events_deleted_total") ?? 0;

  before(async () => {
    // Hourly: the pass at start finds an empty table, the test runs the others.
    app = await startTestApp({ name: "retention", role: "all", env: { EVENTS_RETENTION_DAYS: "30", EVENTS_RETENTION_INTERVAL_MS: "3600000" } });
    const games = createClient(GameService, createConnectTransport({ baseUrl: app.url, httpVersion: "1.1" }));
    await games.upsertGame({ game: { gameId: game, coinsEnabled: true, coinsPerLevel: 5n } }, { headers: { authorization: `Bearer ${testAdminToken}` } });
  });
  after(() => app.close());

  it("removes events received before the cutoff in chunks, and never ledger rows or wallets", async () => {
    assert.ok(app.retention, "retention runs in the worker role when EVENTS_RETENTION_DAYS > 0");
    const fresh = await registerPlayer(app.url);
    await ingest(fresh, ["f1", "f2", "f3"]);
    await waitFor("the fresh batch paid", async () => (await count("SELECT COUNT(*) FROM coin_ledger WHERE user_id = ?", [fresh.userId])) === 3);
    // 5,000 events received on 2026-11-01, more than 30 days ago, and an award of one of them.
    await seedEvents(app.pool, "old-player", 5_000, { gameId: game });
    await app.pool.query(
      "INSERT INTO coin_ledger (user_id, game_id, event_id, amount, batch_id, created_at) VALUES ('old-player', ?, 's1', 5, 'b', UTC_TIMESTAMP(3))",
      [game],
    );
    await app.pool.query("INSERT INTO wallets (user_id, balance) VALUES ('old-player', 5)");

    assert.equal(await app.retention!.runPass(), 5_000);
    assert.equal(await count("SELECT COUNT(*) FROM events WHERE user_id = 'old-player'"), 0);
    assert.equal(await count("SELECT COUNT(*) FROM events WHERE user_id = ?", [fresh.userId]), 3);
    assert.equal(await count("SELECT COUNT(*) FROM coin_ledger WHERE user_id = 'old-player'"), 1);
    assert.equal(await count("SELECT balance FROM wallets WHERE user_id = 'old-player'"), 5);
    assert.equal(await count("SELECT balance FROM wallets WHERE user_id = ?", [fresh.userId]), 15);
    assert.equal(await deletedMetric(), 5_000);
    assert.equal(await app.retention!.runPass(), 0);
  });

  it("stores a resent batch whose events retention removed without paying it again", async () => {
    const player = await registerPlayer(app.url);
    await ingest(player, ["r1", "r2"]);
    await waitFor("the batch paid", async () => (await count("SELECT COUNT(*) FROM coin_ledger WHERE user_id = ?", [player.userId])) === 2);
    // As if received 40 days ago.
    await app.pool.query("UPDATE events SET received_at = UTC_TIMESTAMP(3) - INTERVAL 40 DAY WHERE user_id = ?", [player.userId]);
    assert.equal(await app.retention!.runPass(), 2);
    assert.equal(await count("SELECT COUNT(*) FROM events WHERE user_id = ?", [player.userId]), 0);

    await ingest(player, ["r1", "r2", "r3"]);
    await waitFor("the resent batch stored", async () => (await count("SELECT COUNT(*) FROM events WHERE user_id = ?", [player.userId])) === 3);
    await waitFor("r3 paid", async () => (await count("SELECT COUNT(*) FROM coin_ledger WHERE user_id = ?", [player.userId])) === 3);
    assert.equal(await count("SELECT balance FROM wallets WHERE user_id = ?", [player.userId]), 15);
    assert.equal(await count("SELECT COUNT(*) FROM dead_letters"), 0);
  });
});
