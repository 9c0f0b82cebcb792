/**
 * Every SQL statement is parameterised: SQL metacharacters sent in every string
 * field that reaches MariaDB (email at register and login; event_id,
 * customEventName, customdata keys and values, game_id as far as its pattern
 * allows; refresh tokens; page tokens; the admin API's game_id) are stored and
 * read back verbatim, match nothing they should not, and change nothing else.
 * Runs a whole service (role "all": gateway and worker) on its own database.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import type { RowDataPacket } from "mysql2/promise";
import { registerPlayer, startTestApp, testAdminToken, type TestApp, type TestPlayer } from "../helpers/start-app.js";
import { grpc, grpcErrorOf } from "../helpers/grpc-client.js";
import { grpcStubs, postJson, toStruct, type Stubs } from "./clients.js";

/** SQL, JSON and LIKE metacharacters; NUL- and control-free. */
const sqlNasties = [
  "'",
  '"',
  "\\",
  "\\'",
  "';--",
  "' OR '1'='1",
  "' OR 1=1 -- ",
  "'; DROP TABLE events; --",
  "`events`",
  "%",
  "_",
  "%_%",
  "*/ /*",
  "# comment",
  "\\0\\n\\Z",
  "\u00e9\u4e2d\u{1F600}'\"",
  "SLEEP(5)",
  "1; SELECT * FROM users",
  "$1 ? :name",
];
/** More of the same, made by fast-check from a metacharacter alphabet (fixed seed: reproducible). */
const generated = fc.sample(
  fc
    .array(fc.constantFrom("'", '"', "\\", ";", "--", "%", "_", "`", "/*", "*/", "#", " OR ", "=", "\u00e9", "\u{1F600}", "a", "Z", "0"), { minLength: 1, maxLength: 12 })
    .map((p) => p.join("")),
  { seed: 20261126, numRuns: 12 },
);
const nasties = [...new Set([...sqlNasties, ...generated])];

const emailOf = (local: string, i: number) => `${local.replace(/[\s@]/g, "")}x${i}@ex'am"ple.com`;

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Equality of JSON values by own keys, ignoring prototypes. */
function jsonEqual(a: unknown, b: unknown): boolean {
  if (typeof a !== "object" || a === null || typeof b !== "object" || b === null) return a === b;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

describe("security: every SQL statement is parameterised", function () {
  this.timeout(60_000);
  let app: TestApp;
  let stubs: Stubs;
  let player: TestPlayer;
  let tablesBefore: string[];

  before(async () => {
    app = await startTestApp({ name: "sec_sql", role: "all", env: { LOGIN_MAX_FAILURES_PER_EMAIL: "1000000", INGEST_RATE_PER_USER: "0" } });
    stubs = grpcStubs(app.url);
    player = await registerPlayer(app.url);
    tablesBefore = await tables();
  });
  after(async () => {
    stubs?.close();
    await app?.close();
  });

  async function tables(): Promise<string[]> {
    const [rows] = await app.pool.query<RowDataPacket[]>("SHOW TABLES");
    return rows.map((r) => String(Object.values(r)[0])).sort();
  }
  async function count(table: string, where = "1=1", params: unknown[] = []): Promise<number> {
    const [rows] = await app.pool.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM \`${table}\` WHERE ${where}`, params);
    return Number(rows[0]!.n);
  }

  describe("accounts", () => {
    const registered: Array<{ email: string; password: string; userId: string }> = [];

    it("registers emails full of metacharacters over REST and gRPC and stores them verbatim (normalised)", async () => {
      const usersBefore = await count("users");
      // Each registration and login costs a scrypt hash: the hand-picked strings and a few generated ones.
      const accounts = [...sqlNasties, ...generated.slice(0, 4)];
      for (const [i, nasty] of accounts.entries()) {
        const email = emailOf(nasty, i);
        const password = `pw ${nasty} ${i}`.padEnd(8, "!");
        let userId: string;
        if (i % 2 === 0) {
          const res = await postJson(app.url, "/auth/register", { email, password });
          assert.equal(res.status, 201, `register ${email}: ${await res.clone().text()}`);
          userId = ((await res.json()) as { user_id: string }).user_id;
        } else {
          const res = await stubs.auth.call<{ user_id: string }>("Register", { email, password });
          userId = res.user_id;
        }
        registered.push({ email, password, userId });
      }
      assert.equal(await count("users"), usersBefore + accounts.length, "exactly one row per registration");
      for (const r of registered) {
        const [rows] = await app.pool.query<RowDataPacket[]>("SELECT email FROM users WHERE user_id = ?", [r.userId]);
        assert.equal(rows.length, 1);
        assert.equal(rows[0]!.email, r.email.trim().toLowerCase(), "the stored email is the one sent");
      }
    });

    it("logs each of them in with its own password, over REST and gRPC, as its own user", async () => {
      for (const [i, r] of registered.entries()) {
        if (i % 2 === 0) {
          const res = await postJson(app.url, "/auth/login", { email: r.email, password: r.password });
          assert.equal(res.status, 200, `login ${r.email}`);
          assert.equal(((await res.json()) as { user_id: string }).user_id, r.userId);
        } else {
          const res = await stubs.auth.call<{ user_id: string }>("Login", { email: r.email, password: r.password });
          assert.equal(res.user_id, r.userId);
        }
      }
    });

    it("injection-shaped emails and passwords log nobody in (401 / UNAUTHENTICATED)", async () => {
      const first = registered[0]!;
      const attempts: Array<[string, string]> = [
        ["' OR '1'='1", "x"],
        ["' OR 1=1 -- ", first.password],
        ["' OR '1'='1' -- ", "anything at all"],
        ["%", first.password],
        ["_%", first.password],
        ["*", first.password],
        [`${first.email}' -- `, first.password],
        [`${first.email}' OR '1'='1`, "wrong"],
        [first.email, "' OR '1'='1"],
        [first.email, `${first.password}' OR '1'='1`],
        [first.email.replace(/[a-z]/, "_"), first.password],
        [first.email.replace(/[a-z]+/, "%"), first.password],
      ];
      for (const [email, password] of attempts) {
        const res = await postJson(app.url, "/auth/login", { email, password });
        assert.equal(res.status, 401, `REST login ${JSON.stringify(email)} / ${JSON.stringify(password)}`);
        const err = await grpcErrorOf(stubs.auth.call("Login", { email, password }));
        assert.equal(err.code, grpc.status.UNAUTHENTICATED, `gRPC login ${JSON.stringify(email)}: ${err.details}`);
      }
    });

    it("injection-shaped refresh tokens are refused and revoke nothing", async () => {
      const fresh = await registerPlayer(app.url);
      const revokedBefore = await count("refresh_tokens", "revoked_at IS NOT NULL");
      for (const token of ["' OR '1'='1", "' OR 1=1 -- ", "%", "_", "'; UPDATE refresh_tokens SET revoked_at = NULL; --", "\\"]) {
        const res = await postJson(app.url, "/auth/refresh", { refresh_token: token });
        assert.equal(res.status, 401);
        const err = await grpcErrorOf(stubs.auth.call("Refresh", { refresh_token: token }));
        assert.equal(err.code, grpc.status.UNAUTHENTICATED);
      }
      assert.equal(await count("refresh_tokens", "revoked_at IS NOT NULL"), revokedBefore);
      const res = await postJson(app.url, "/auth/refresh", { refresh_token: fresh.refreshToken });
      assert.equal(res.status, 200, "an untouched token still works");
    });
  });

  describe("events, customdata and coins", () => {
    const coinGame = "com.sql_inj--test.coins-x_";
    const plainGames = ["com.o_r--1.x-y_", "A.--", "z._._", "Select.From--where"];

    before(async () => {
      await stubs.games.call("UpsertGame", { game: { game_id: coinGame, coins_enabled: true, coins_per_level: "7", daily_coin_cap: "0" } }, { authorization: `Bearer ${testAdminToken}` });
    });

    /** One Custom and one LevelCompleted event per metacharacter string; `tag` keeps ids of batches apart. */
    function batchOf(tag: string) {
      return nasties.flatMap((nasty, i) => [
        {
          type: "Custom",
          customEventName: `${nasty}`.slice(0, 128),
          timestamp: "2026-11-26T09:15:00.123456+05:30",
          event_id: `${tag}${i}:${nasty}`.slice(0, 64),
          customdata: { [nasty]: nasty, [`k${i}${nasty}`]: [nasty, i, null, true, { [nasty]: { "'": '"' } }], "\\": "`" },
        },
        { type: "LevelCompleted", timestamp: "2026-11-26T09:15:00Z", event_id: `${tag}L${i}${nasty}`.slice(0, 64) },
      ]);
    }

    async function storedRows(gameId: string): Promise<RowDataPacket[]> {
      const [rows] = await app.pool.query<RowDataPacket[]>(
        "SELECT event_id, type, custom_event_name, customdata, game_id, user_id FROM events WHERE user_id = ? AND game_id = ? ORDER BY event_id",
        [player.userId, gameId],
      );
      return rows;
    }

    async function assertStoredVerbatim(gameId: string, events: ReturnType<typeof batchOf>): Promise<void> {
      const rows = await waitFor(`${events.length} events of ${gameId}`, async () => {
        const r = await storedRows(gameId);
        return r.length >= events.length ? r : undefined;
      });
      assert.equal(rows.length, events.length, "exactly the events sent, nothing more");
      const byId = new Map(rows.map((r) => [r.event_id as string, r]));
      for (const e of events) {
        const row = byId.get(e.event_id);
        assert.ok(row, `event ${JSON.stringify(e.event_id)} is not stored under its own id`);
        assert.equal(row.game_id, gameId);
        assert.equal(row.type, e.type);
        assert.equal(row.custom_event_name, "customEventName" in e ? e.customEventName : null);
        if ("customdata" in e) {
          const stored = typeof row.customdata === "string" ? JSON.parse(row.customdata) : row.customdata;
          assert.ok(jsonEqual(stored, e.customdata), `customdata of ${JSON.stringify(e.event_id)} stored as ${JSON.stringify(stored)}`);
        } else assert.equal(row.customdata, null);
      }
    }

    it("stores metacharacters verbatim from REST JSON: event ids, names, customdata keys and values, game ids", async () => {
      const tablesNow = await tables();
      for (const gameId of [coinGame, plainGames[0]!]) {
        const events = batchOf("r");
        const res = await postJson(app.url, "/ingest/events", { user_id: player.userId, game_id: gameId, events }, { authorization: `Bearer ${player.accessToken}` });
        assert.equal(res.status, 202, await res.clone().text());
        assert.equal(((await res.json()) as { accepted: number }).accepted, events.length);
        await assertStoredVerbatim(gameId, events);
      }
      assert.deepEqual(await tables(), tablesNow, "no table appeared or vanished");
    });

    it("stores metacharacters verbatim from gRPC (binary, a client the project did not write)", async () => {
      for (const gameId of plainGames.slice(1)) {
        const events = batchOf("g");
        const res = await stubs.ingest.call<{ accepted: number }>(
          "IngestEvents",
          {
            user_id: player.userId,
            game_id: gameId,
            events: events.map((e) => ({
              type: e.type,
              timestamp: e.timestamp,
              event_id: e.event_id,
              custom_event_name: "customEventName" in e ? e.customEventName : "",
              ...("customdata" in e && e.customdata ? { customdata: toStruct(e.customdata) } : {}),
            })),
          },
          { authorization: `Bearer ${player.accessToken}` },
        );
        assert.equal(res.accepted, events.length);
        await assertStoredVerbatim(gameId, events);
      }
    });

    it("pays coins for metacharacter event ids once each, with the ids verbatim in the ledger", async () => {
      const levels = batchOf("r").filter((e) => e.type === "LevelCompleted");
      const [ledger] = await app.pool.query<RowDataPacket[]>("SELECT event_id, amount FROM coin_ledger WHERE user_id = ? AND game_id = ?", [player.userId, coinGame]);
      assert.deepEqual(ledger.map((r) => r.event_id as string).sort(), levels.map((e) => e.event_id).sort());
      for (const r of ledger) assert.equal(String(r.amount), "7");
      const balance = await stubs.wallet.call<{ balance: string }>("GetBalance", {}, { authorization: `Bearer ${player.accessToken}` });
      assert.equal(balance.balance, String(7 * levels.length));
      // Resending the same batch pays nothing more and stores nothing more.
      const events = batchOf("r");
      const res = await postJson(app.url, "/ingest/events", { user_id: player.userId, game_id: coinGame, events }, { authorization: `Bearer ${player.accessToken}` });
      assert.equal(res.status, 202);
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal(await count("coin_ledger", "user_id = ?", [player.userId]), levels.length);
      assert.equal(await count("events", "user_id = ? AND game_id = ?", [player.userId, coinGame]), events.length);
    });

    it("keeps two client event ids that differ only by trailing spaces apart (a 202 is never lost)", async () => {
      // Regression test of a fixed bug (src/store/events-repo.ts comparableId/eventKeyString and the schema's
      // utf8mb4_bin collation, which is PAD SPACE in MariaDB): "id" and "id " are
      // one key to MySQL, so the worker stores the first and silently drops the
      // second (uniqueEvents / findStoredEvents treat it as already stored),
      // although the gateway answered 202 with accepted: 2. The contract's ids
      // are strings of 1-64 characters; trailing spaces are characters. Fix:
      // a NO PAD collation for the id columns (MariaDB: utf8mb4_nopad_bin) and
      // dropping the trailing-space folding in comparableId, or refuse ids with
      // trailing spaces in validateBatch (400), so no accepted event vanishes.
      const gameId = "com.sql.padspace";
      const events = [
        { type: "AppOpen", timestamp: "2026-11-26T09:15:00Z", event_id: "pad-id" },
        { type: "GameEnd", timestamp: "2026-11-26T09:16:00Z", event_id: "pad-id " },
        { type: "GameEnd", timestamp: "2026-11-26T09:17:00Z", event_id: "pad-id  " },
      ];
      const res = await postJson(app.url, "/ingest/events", { user_id: player.userId, game_id: gameId, events }, { authorization: `Bearer ${player.accessToken}` });
      if (res.status === 400) {
        // A fix that refuses such ids is fine too: then nothing is queued.
        const body = (await res.json()) as { details: Array<{ field: string }> };
        assert.ok(body.details.some((d) => d.field === "event_id"));
        return;
      }
      assert.equal(res.status, 202);
      assert.equal(((await res.json()) as { accepted: number }).accepted, 3);
      await waitFor("the batch to be drained", async () => ((await count("events", "user_id = ? AND game_id = ?", [player.userId, gameId])) > 0 ? true : undefined));
      await new Promise((r) => setTimeout(r, 500));
      const [rows] = await app.pool.query<RowDataPacket[]>("SELECT CONCAT('[', event_id, ']') AS id, type FROM events WHERE user_id = ? AND game_id = ?", [player.userId, gameId]);
      assert.deepEqual(rows.map((r) => r.id as string).sort(), ["[pad-id  ]", "[pad-id ]", "[pad-id]"], "every accepted event is stored under its own id");
    });

    it("a customdata key named __proto__ is stored verbatim from REST", async () => {
      // Over Connect/gRPC such a key is lost while decoding (a limitation of
      // @bufbuild/protobuf's Struct conversion, outside src/; reported), so only
      // REST is held to it here.
      const literal = JSON.parse('{"__proto__":"kept","normal":1}') as Record<string, unknown>;
      const gameId = "com.sql.protokeys";
      const res = await postJson(
        app.url,
        "/ingest/events",
        `{"user_id":${JSON.stringify(player.userId)},"game_id":"${gameId}","events":[{"type":"AppOpen","timestamp":"2026-11-26T09:15:00Z","event_id":"rest-proto","customdata":{"__proto__":"kept","normal":1}}]}`,
        { authorization: `Bearer ${player.accessToken}` },
      );
      assert.equal(res.status, 202);
      const rest = await waitFor("the REST event", async () => (await storedRows(gameId)).find((r) => r.event_id === "rest-proto"));
      assert.ok(jsonEqual(typeof rest.customdata === "string" ? JSON.parse(rest.customdata) : rest.customdata, literal), `REST stored ${JSON.stringify(rest.customdata)}`);
    });
  });

  describe("the games admin API (GameService with the admin token)", () => {
    const admin = { authorization: `Bearer ${testAdminToken}` };
    const validIds = ["com.o_r--1.x-y_", "A.--", "z._._", "Select.From--where", "com.a_b.c--d-e_f"];

    it("stores game ids with the SQL-significant characters the pattern allows verbatim, and reads them back", async () => {
      for (const [i, gameId] of validIds.entries()) {
        const res = await stubs.games.call<{ game: { game_id: string; coins_per_level: string } }>("UpsertGame", { game: { game_id: gameId, coins_enabled: i % 2 === 0, coins_per_level: String(i + 1), daily_coin_cap: "0" } }, admin);
        assert.equal(res.game.game_id, gameId);
        const got = await stubs.games.call<{ game: { game_id: string; coins_per_level: string } }>("GetGame", { game_id: gameId }, admin);
        assert.equal(got.game.game_id, gameId);
        assert.equal(got.game.coins_per_level, String(i + 1));
        const [rows] = await app.pool.query<RowDataPacket[]>("SELECT game_id FROM games WHERE game_id = ?", [gameId]);
        assert.deepEqual(rows.map((r) => r.game_id), [gameId]);
      }
      // "_" is a LIKE wildcard and "--" a comment: neither matched another game.
      const err = await grpcErrorOf(stubs.games.call("GetGame", { game_id: "com.a_b.c--d-e_g" }, admin));
      assert.equal(err.code, grpc.status.NOT_FOUND);
    });

    it("refuses game ids with other metacharacters (INVALID_ARGUMENT) and writes nothing", async () => {
      const gamesBefore = await count("games");
      const [before] = await app.pool.query<RowDataPacket[]>("SELECT game_id, coins_enabled, coins_per_level, daily_coin_cap FROM games ORDER BY game_id");
      const gameIdRule = /^[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)+$/;
      for (const nasty of nasties) {
        for (const gameId of [nasty, `com.example.${nasty}`, `com.example.x${nasty}y`].filter((id) => !gameIdRule.test(id))) {
          const upsert = await grpcErrorOf(stubs.games.call("UpsertGame", { game: { game_id: gameId, coins_enabled: true, coins_per_level: "1000", daily_coin_cap: "0" } }, admin));
          assert.equal(upsert.code, grpc.status.INVALID_ARGUMENT, `UpsertGame ${JSON.stringify(gameId)}: ${upsert.details}`);
          const get = await grpcErrorOf(stubs.games.call("GetGame", { game_id: gameId }, admin));
          assert.equal(get.code, grpc.status.INVALID_ARGUMENT, `GetGame ${JSON.stringify(gameId)}: ${get.details}`);
        }
      }
      assert.equal(await count("games"), gamesBefore);
      const [after] = await app.pool.query<RowDataPacket[]>("SELECT game_id, coins_enabled, coins_per_level, daily_coin_cap FROM games ORDER BY game_id");
      assert.deepEqual(after, before, "no game changed");
    });

    it("refuses page tokens that carry SQL (ListGames, ListLedger) and lists exactly the stored games", async () => {
      for (const cursor of ["' OR 1=1 --", "com.a' OR '1'='1", "com.a.b' --", "0 OR 1=1", "1; DROP TABLE games"]) {
        const token = Buffer.from(cursor).toString("base64url");
        const games = await grpcErrorOf(stubs.games.call("ListGames", { page_size: 10, page_token: token }, admin));
        assert.equal(games.code, grpc.status.INVALID_ARGUMENT, `ListGames token of ${JSON.stringify(cursor)}`);
        const ledger = await grpcErrorOf(stubs.wallet.call("ListLedger", { page_size: 10, page_token: token }, { authorization: `Bearer ${player.accessToken}` }));
        assert.equal(ledger.code, grpc.status.INVALID_ARGUMENT, `ListLedger token of ${JSON.stringify(cursor)}`);
      }
      const listed: string[] = [];
      let pageToken = "";
      do {
        const page = await stubs.games.call<{ games: Array<{ game_id: string }>; next_page_token: string }>("ListGames", { page_size: 2, page_token: pageToken }, admin);
        listed.push(...page.games.map((g) => g.game_id));
        pageToken = page.next_page_token;
      } while (pageToken !== "");
      const [rows] = await app.pool.query<RowDataPacket[]>("SELECT game_id FROM games ORDER BY game_id");
      assert.deepEqual(listed, rows.map((r) => r.game_id as string));
    });
  });

  it("afterwards: the same tables exist, and the service still answers", async () => {
    assert.deepEqual(await tables(), tablesBefore);
    assert.equal((await fetch(`${app.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${app.url}/readyz`)).status, 200);
  });
});
