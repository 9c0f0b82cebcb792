import assert from "node:assert/strict";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import type { RowDataPacket } from "mysql2/promise";
import { GameService } from "../../../gen/playsmart/games/v1/games_pb.js";
import { WalletService } from "../../../gen/playsmart/wallet/v1/wallet_pb.js";
import { parseMysqlUrl } from "../../../src/store/mysql-pool.js";
import { createDynamicClient } from "../../helpers/grpc-client.js";
import { parsePrometheusText, sampleValue } from "../../helpers/prometheus-text.js";
import { createTcpProxy, type TcpProxy } from "../../helpers/tcp-proxy.js";
import { registerPlayer, startTestApp, testAdminToken, type TestApp, type TestPlayer } from "../../helpers/start-app.js";
import { mysqlServerUrl } from "../../helpers/test-env.js";

const gameId = "com.example.coins";

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return Date.now() - started;
}

async function count(app: TestApp, sql: string, params: unknown[]): Promise<number> {
  const [rows] = await app.pool.query<RowDataPacket[]>(sql, params);
  return Number(Object.values(rows[0]!)[0]);
}

describe("end to end: register, register a game, ingest over REST and gRPC, coins in the wallet", function () {
  this.timeout(30_000);
  let app: TestApp;
  let player: TestPlayer;

  before(async () => {
    app = await startTestApp({ name: "e2e", role: "all" });
    player = await registerPlayer(app.url);
  });
  after(() => app.close());

  const transport = () => createConnectTransport({ baseUrl: app.url, httpVersion: "1.1" });
  const auth = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
  const ingestRest = (events: unknown[], game = gameId) =>
    fetch(`${app.url}/ingest/events`, {
      method: "POST",
      headers: { authorization: `Bearer ${player.accessToken}`, "content-type": "application/json" },
      body: JSON.stringify({ user_id: player.userId, game_id: game, events }),
    });

  const drainCounters = async () => {
    const samples = parsePrometheusText(await (await fetch(`${app.url}/metrics`)).text());
    return {
      stored: sampleValue(samples, "playsmart_drain_events_stored_total"),
      coins: sampleValue(samples, "playsmart_drain_coins_awarded_total"),
      lagCount: sampleValue(samples, "playsmart_ingest_to_commit_lag_seconds_count"),
    };
  };

  it("stores every event once and pays each level once, capped per day", async () => {
    const metricsBefore = await drainCounters();
    const games = createClient(GameService, transport());
    const upserted = await games.upsertGame(
      { game: { gameId, coinsEnabled: true, coinsPerLevel: 10n, dailyCoinCap: 25n } },
      auth(testAdminToken),
    );
    assert.equal(upserted.game?.coinsPerLevel, 10n);

    // REST: two levels and an app open, with client ids.
    const restEvents = [
      { type: "AppOpen", timestamp: "2026-11-26T09:15:00Z", event_id: "open-1" },
      { type: "LevelCompleted", timestamp: "2026-11-26T09:20:31.250+01:00", customdata: { level: 1 }, event_id: "lvl-1" },
      { type: "LevelCompleted", timestamp: "2026-11-26T09:25:00-05:00", customdata: { level: 2 }, event_id: "lvl-2" },
    ];
    assert.equal((await ingestRest(restEvents)).status, 202);
    // The client did not see the 202 and resends: same ids, nothing new.
    assert.equal((await ingestRest(restEvents)).status, 202);

    // gRPC (grpc-js): a third level without a client id; the cap leaves 5 of its 10 coins.
    const grpc = createDynamicClient(app.url, "playsmart/ingest/v1/ingest.proto", "playsmart.ingest.v1.IngestService");
    try {
      const res = await grpc.call<{ batch_id: string; accepted: number }>(
        "IngestEvents",
        { user_id: player.userId, game_id: gameId, events: [{ type: "LevelCompleted", timestamp: "2026-11-26T10:00:00Z" }] },
        { authorization: `Bearer ${player.accessToken}` },
      );
      assert.equal(res.accepted, 1);
    } finally {
      grpc.close();
    }
    // A fourth level: over the cap, stored but unpaid.
    assert.equal((await ingestRest([{ type: "LevelCompleted", timestamp: "2026-11-26T10:05:00Z", event_id: "lvl-4" }])).status, 202);

    const ms = await waitFor("5 events stored", async () =>
      (await count(app, "SELECT COUNT(*) FROM events WHERE user_id = ?", [player.userId])) === 5,
    );
    assert.ok(ms < 5000, `stored within seconds (${ms} ms)`);
    await waitFor("balance 25", async () => {
      const res = await fetch(`${app.url}/wallet`, { headers: { authorization: `Bearer ${player.accessToken}` } });
      return ((await res.json()) as { balance: string }).balance === "25";
    });

    const wallet = await fetch(`${app.url}/wallet`, { headers: { authorization: `Bearer ${player.accessToken}` } });
    assert.equal(wallet.status, 200);
    assert.deepEqual(await wallet.json(), { user_id: player.userId, balance: "25" });
    const metricsAfter = await drainCounters();
    assert.equal(metricsAfter.stored - metricsBefore.stored, 5, "drain metrics count the new events only");
    assert.equal(metricsAfter.coins - metricsBefore.coins, 25);
    assert.ok(metricsAfter.lagCount - metricsBefore.lagCount >= 4, "one lag observation per committed entry");

    const wallets = createClient(WalletService, transport());
    assert.equal((await wallets.getBalance({}, auth(player.accessToken))).balance, 25n);
    const ledger = await wallets.listLedger({ pageSize: 10 }, auth(player.accessToken));
    assert.deepEqual(ledger.entries.map((e) => [e.gameId, e.amount]), [[gameId, 5n], [gameId, 10n], [gameId, 10n]]);
    assert.deepEqual(ledger.entries.slice(1).map((e) => e.eventId).sort(), ["lvl-1", "lvl-2"]);
    assert.equal(ledger.nextPageToken, "");

    const [rows] = await app.pool.query<RowDataPacket[]>(
      "SELECT event_id, type, occurred_at, utc_offset_min, customdata FROM events WHERE user_id = ? AND event_id = 'lvl-1'",
      [player.userId],
    );
    assert.deepEqual(
      rows.map((r) => ({ ...r, customdata: typeof r.customdata === "string" ? JSON.parse(r.customdata) : r.customdata })),
      [{ event_id: "lvl-1", type: "LevelCompleted", occurred_at: "2026-11-26 08:20:31.250000", utc_offset_min: 60, customdata: { level: 1 } }],
    );
  });

  it("stores events of an unregistered game and pays nothing for them", async () => {
    const before = await count(app, "SELECT COUNT(*) FROM coin_ledger WHERE user_id = ?", [player.userId]);
    assert.equal((await ingestRest([{ type: "LevelCompleted", timestamp: "2026-11-26T11:00:00Z", event_id: "x-1" }], "com.example.unknown")).status, 202);
    await waitFor("the event stored", async () =>
      (await count(app, "SELECT COUNT(*) FROM events WHERE user_id = ? AND game_id = 'com.example.unknown'", [player.userId])) === 1,
    );
    assert.equal(await count(app, "SELECT COUNT(*) FROM coin_ledger WHERE user_id = ?", [player.userId]), before);
  });

  it("refuses the games admin to players (403) and anonymous callers (401)", async () => {
    const games = createClient(GameService, transport());
    await assert.rejects(games.getGame({ gameId }, auth(player.accessToken)), (e) => ConnectError.from(e).code === Code.PermissionDenied);
    await assert.rejects(games.getGame({ gameId }), (e) => ConnectError.from(e).code === Code.Unauthenticated);
    assert.equal((await games.getGame({ gameId }, auth(testAdminToken))).game?.dailyCoinCap, 25n);
  });
});

describe("end to end: MySQL unreachable while the gateway accepts", function () {
  this.timeout(40_000);
  let gateway: TestApp;
  let worker: TestApp;
  let proxy: TcpProxy;

  before(async () => {
    const server = new URL(mysqlServerUrl);
    proxy = await createTcpProxy({ host: server.hostname, port: Number(server.port || 3306) });
    await proxy.up();
    gateway = await startTestApp({ name: "e2e_outage", role: "gateway" });
    const proxied = new URL(mysqlServerUrl);
    proxied.port = String(proxy.port);
    proxied.pathname = `/${parseMysqlUrl(gateway.config.mysqlUrl).database}`;
    worker = await startTestApp({ name: "e2e_outage", role: "worker", env: { MYSQL_URL: proxied.toString(), WORKER_CLAIM_IDLE_MS: "500" } });
  });
  after(async () => {
    await worker.close();
    await gateway.close();
    await proxy.down();
  });

  it("answers 202 for 1,000 events while MySQL is down, and stores all 1,000 once it is back", async () => {
    const player = await registerPlayer(gateway.url);
    await proxy.down();
    for (let b = 0; b < 5; b++) {
      const events = Array.from({ length: 200 }, (_, i) => ({ type: "GameEnd", timestamp: "2026-11-26T09:15:00Z", event_id: `b${b}-e${i}` }));
      const res = await fetch(`${gateway.url}/ingest/events`, {
        method: "POST",
        headers: { authorization: `Bearer ${player.accessToken}`, "content-type": "application/json" },
        body: JSON.stringify({ user_id: player.userId, game_id: "com.example.outage", events }),
      });
      assert.equal(res.status, 202);
    }
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await count(gateway, "SELECT COUNT(*) FROM events WHERE user_id = ?", [player.userId]), 0);
    assert.equal((await fetch(`${worker.url}/readyz`)).status, 503, "the worker is not ready without MySQL");

    await proxy.up();
    await waitFor("1,000 events stored", async () =>
      (await count(gateway, "SELECT COUNT(*) FROM events WHERE user_id = ?", [player.userId])) === 1000, 20_000,
    );
    assert.equal(await count(gateway, "SELECT COUNT(*) FROM dead_letters", []), 0);
  });
});
