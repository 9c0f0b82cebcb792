import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import type { RowDataPacket } from "mysql2/promise";
import { PlayerAdminService } from "../../../gen/playsmart/admin/v1/players_pb.js";
import { GameService } from "../../../gen/playsmart/games/v1/games_pb.js";
import { runPlayersCommand } from "../../../src/cli/players-command.js";
import { erasureSteps, tablesKeptByErasure } from "../../../src/store/erasure-repo.js";
import { deadLetterKey, streamKey } from "../../../src/stream/stream-keys.js";
import { uuidV7 } from "../../../src/stream/uuid-v7.js";
import { parsePrometheusText, sampleValue } from "../../helpers/prometheus-text.js";
import { seedEvents } from "../../helpers/seed-events.js";
import { registerPlayer, startTestApp, testAdminToken, type TestApp, type TestPlayer } from "../../helpers/start-app.js";
import { waitFor } from "../../helpers/wait-for.js";

const game = "com.erase.coins";
const bin = fileURLToPath(new URL("../../../bin/playsmart.js", import.meta.url));


describe("player erasure: PlayerAdminService.DeletePlayer and `playsmart players delete`", function () {
  this.timeout(60_000);
  let gateway: TestApp;
  let worker: TestApp | undefined;
  const admin = { headers: { authorization: `Bearer ${testAdminToken}` } };
  const players = () => createClient(PlayerAdminService, createConnectTransport({ baseUrl: gateway.url, httpVersion: "1.1" }));

  const startWorker = async () => {
    worker = await startTestApp({ name: "erasure", role: "worker" });
  };
  const stopWorker = async () => {
    await worker?.close();
    worker = undefined;
  };
  const count = async (sql: string, params: unknown[]) => {
    const [rows] = await gateway.pool.query<RowDataPacket[]>(sql, params);
    return Number(Object.values(rows[0]!)[0]);
  };
  const ingest = async (who: TestPlayer, n: number, idPrefix: string) => {
    const events = Array.from({ length: n }, (_, i) => ({ type: "LevelCompleted", timestamp: "2026-12-01T10:00:00Z", event_id: `${idPrefix}${i}` }));
    const res = await fetch(`${gateway.url}/ingest/events`, {
      method: "POST",
      headers: { authorization: `Bearer ${who.accessToken}`, "content-type": "application/json" },
      body: JSON.stringify({ user_id: who.userId, game_id: game, events }),
    });
    const text = await res.text();
    assert.equal(res.status, 202, text);
  };
  const streamEmpty = async () => {
    const key = streamKey(gateway.config.streamPrefix, 0);
    const length = await gateway.redis.xlen(key);
    return length === 0;
  };
  const droppedMetric = async () => {
    const text = await worker!.metrics.registry.metrics();
    return sampleValue(parsePrometheusText(text), "playsmart_drain_erased_events_dropped_total") ?? 0;
  };

  before(async () => {
    gateway = await startTestApp({ name: "erasure", role: "gateway" });
    await startWorker();
    const games = createClient(GameService, createConnectTransport({ baseUrl: gateway.url, httpVersion: "1.1" }));
    await games.upsertGame({ game: { gameId: game, coinsEnabled: true, coinsPerLevel: 10n } }, admin);
  });
  after(async () => {
    await stopWorker();
    await gateway.close();
  });

  it("erases every table of the player, keeps everyone else's, and drops batches queued before or sent after", async () => {
    const victim = await registerPlayer(gateway.url);
    const bystander = await registerPlayer(gateway.url);
    // A device attached to the victim, and a second refresh token.
    const device = await fetch(`${gateway.url}/auth/device`, {
      method: "POST",
      headers: { authorization: `Bearer ${victim.accessToken}`, "content-type": "application/json" },
      body: JSON.stringify({ device_id: `device-${uuidV7()}` }),
    });
    assert.equal(device.status, 200);
    await ingest(victim, 3, "v");
    await ingest(bystander, 2, "b");
    // A poison entry of the victim: a dead letter in MySQL and in the dead-letter stream.
    const key = streamKey(gateway.config.streamPrefix, 0);
    await gateway.redis.xadd(key, "*", "v", "1", "b", uuidV7(), "u", victim.userId, "g", game, "t", String(Date.now()), "f", "json", "d", "{not json");
    await waitFor("the first batches stored", async () =>
      (await count("SELECT COUNT(*) FROM events WHERE user_id = ?", [victim.userId])) === 3 &&
      (await count("SELECT COUNT(*) FROM dead_letters WHERE user_id = ?", [victim.userId])) === 1 &&
      (await streamEmpty()));
    assert.equal(await count("SELECT balance FROM wallets WHERE user_id = ?", [victim.userId]), 30);
    assert.equal(await gateway.redis.xlen(deadLetterKey(gateway.config.streamPrefix, 0)), 1);

    // A batch queued while no worker runs: it must not come back after the erasure.
    await stopWorker();
    await ingest(victim, 2, "q");
    assert.equal(await gateway.redis.xlen(key), 1);

    const res = await players().deletePlayer({ userId: victim.userId }, admin);
    assert.deepEqual(res.rowsDeleted, {
      refresh_tokens: 2n,
      devices: 1n,
      users: 1n,
      events: 3n,
      coin_ledger: 3n,
      coin_daily_totals: 1n,
      wallets: 1n,
      dead_letters: 1n,
      "redis:dead-letters": 1n,
    });
    assert.match(res.requestedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    // Every table of the schema: emptied of the player, or knowingly kept.
    const [tables] = await gateway.pool.query<RowDataPacket[]>(
      "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME",
    );
    const erased = new Set(erasureSteps.map((s) => s.table));
    for (const { t } of tables as Array<{ t: string }>) {
      assert.ok(erased.has(t) || t in tablesKeptByErasure, `table ${t} is neither erased nor listed as kept`);
      if (erased.has(t)) assert.equal(await count(`SELECT COUNT(*) FROM \`${t}\` WHERE user_id = ?`, [victim.userId]), 0, t);
    }
    assert.equal(await count("SELECT COUNT(*) FROM dead_letters WHERE LOCATE(?, payload) > 0", [victim.userId]), 0);
    assert.equal(await count("SELECT COUNT(*) FROM erased_players WHERE user_id = ? AND completed_at IS NOT NULL", [victim.userId]), 1);
    assert.equal(await gateway.redis.xlen(deadLetterKey(gateway.config.streamPrefix, 0)), 0);
    // The bystander is untouched.
    assert.equal(await count("SELECT COUNT(*) FROM events WHERE user_id = ?", [bystander.userId]), 2);
    assert.equal(await count("SELECT COUNT(*) FROM coin_ledger WHERE user_id = ?", [bystander.userId]), 2);
    assert.equal(await count("SELECT balance FROM wallets WHERE user_id = ?", [bystander.userId]), 20);
    assert.equal(await count("SELECT COUNT(*) FROM users WHERE user_id = ?", [bystander.userId]), 1);

    // The queued batch is drained and dropped, and counted.
    await startWorker();
    await waitFor("the queued batch drained", streamEmpty);
    assert.equal(await count("SELECT COUNT(*) FROM events WHERE user_id = ?", [victim.userId]), 0);
    assert.equal(await count("SELECT COUNT(*) FROM wallets WHERE user_id = ?", [victim.userId]), 0);
    assert.equal(await droppedMetric(), 2);

    // A batch sent later with an access token issued before the erasure: accepted, then dropped.
    await ingest(victim, 4, "late");
    await waitFor("the late batch drained", async () => (await droppedMetric()) === 6);
    assert.equal(await streamEmpty(), true);
    assert.equal(await count("SELECT COUNT(*) FROM events WHERE user_id = ?", [victim.userId]), 0);
    assert.equal(await count("SELECT COUNT(*) FROM coin_ledger WHERE user_id = ?", [victim.userId]), 0);

    // No way back in: the refresh token and the password are gone with the account.
    const refresh = await fetch(`${gateway.url}/auth/refresh`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ refresh_token: victim.refreshToken }),
    });
    assert.equal(refresh.status, 401);
    const login = await fetch(`${gateway.url}/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: victim.email, password: victim.password }),
    });
    assert.equal(login.status, 401);

    // Idempotent: again, nothing is left to delete, and the first request's time stays.
    const again = await players().deletePlayer({ userId: victim.userId }, admin);
    assert.deepEqual(Object.values(again.rowsDeleted), Object.values(again.rowsDeleted).map(() => 0n));
    assert.equal(again.requestedAt, res.requestedAt);
  });

  it("is for the admin token only and needs a user id", async () => {
    const someone = await registerPlayer(gateway.url);
    await assert.rejects(
      players().deletePlayer({ userId: someone.userId }, { headers: { authorization: `Bearer ${someone.accessToken}` } }),
      (e: unknown) => e instanceof ConnectError && e.code === Code.PermissionDenied,
    );
    await assert.rejects(players().deletePlayer({ userId: someone.userId }), (e: unknown) => e instanceof ConnectError && e.code === Code.Unauthenticated);
    await assert.rejects(
      players().deletePlayer({ userId: "" }, admin),
      (e: unknown) => e instanceof ConnectError && e.code === Code.InvalidArgument && /user_id: is required/.test(e.rawMessage),
    );
    assert.equal(await count("SELECT COUNT(*) FROM users WHERE user_id = ?", [someone.userId]), 1);
    // The command's usage errors (exit 2) and an export of nobody (exit 1).
    const errs: string[] = [];
    const io = { write: async () => {}, err: (l: string) => void errs.push(l) };
    assert.equal(await runPlayersCommand(["delete"], gateway.config, io), 2);
    assert.equal(await runPlayersCommand(["delete", someone.userId, "--chunk-rows", "0"], gateway.config, io), 2);
    assert.equal(await runPlayersCommand(["erase", someone.userId], gateway.config, io), 2);
    assert.equal(await runPlayersCommand(["export", "nobody-at-all"], gateway.config, io), 1);
    assert.match(errs.join("\n"), /delete needs a <user_id>[\s\S]*unexpected --chunk-rows 0[\s\S]*unknown subcommand "erase"[\s\S]*no data is held about player nobody-at-all/);
    assert.equal(await count("SELECT COUNT(*) FROM users WHERE user_id = ?", [someone.userId]), 1);
  });

  it("finishes an erasure killed midway when run again", async () => {
    const userId = `killed-${uuidV7()}`;
    await seedEvents(gateway.pool, userId, 60_000);
    await gateway.pool.query("INSERT INTO wallets (user_id, balance) VALUES (?, 5)", [userId]);
    const child = spawn(process.execPath, [bin, "players", "delete", userId, "--chunk-rows", "100"], {
      env: { ...process.env, MYSQL_URL: gateway.config.mysqlUrl, STREAM_PREFIX: gateway.config.streamPrefix, STREAM_SHARDS: "1", LOG_LEVEL: "silent" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on("exit", (code, signal) => resolve(signal ?? code)));
    let left = 60_000;
    await waitFor("the erasure to be under way", async () => {
      left = await count("SELECT COUNT(*) FROM events WHERE user_id = ?", [userId]);
      return left < 55_000;
    }, 30_000);
    child.kill("SIGKILL");
    assert.equal(await exited, "SIGKILL");
    left = await count("SELECT COUNT(*) FROM events WHERE user_id = ?", [userId]);
    assert.ok(left > 0 && left < 60_000, `${left} events left`);
    assert.equal(await count("SELECT COUNT(*) FROM erased_players WHERE user_id = ? AND completed_at IS NULL", [userId]), 1);

    const out: string[] = [];
    const code = await runPlayersCommand(["delete", userId], gateway.config, {
      write: async (t) => void out.push(t),
      err: () => {},
    });
    assert.equal(code, 0);
    const result = JSON.parse(out.join("")) as { rows_deleted: Record<string, number> };
    assert.equal(result.rows_deleted.events, left);
    assert.equal(result.rows_deleted.wallets, 1);
    assert.equal(await count("SELECT COUNT(*) FROM events WHERE user_id = ?", [userId]), 0);
    assert.equal(await count("SELECT COUNT(*) FROM erased_players WHERE user_id = ? AND completed_at IS NOT NULL", [userId]), 1);
  });
});
