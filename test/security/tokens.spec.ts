/**
 * Tokens as an attacker makes them, on every transport: forged, expired,
 * re-signed and mis-addressed access tokens are refused (401 over REST with the
 * bearer challenge, UNAUTHENTICATED over gRPC and Connect) on every player and
 * admin method; a valid token of an unknown or deleted user opens only that
 * user's data; a reused refresh token revokes its whole family, also under a
 * race; the admin API refuses player tokens (PERMISSION_DENIED) and missing or
 * near-miss admin tokens (UNAUTHENTICATED) on every method.
 * (test/integration/rest/auth.spec.ts covers the REST ingest basics.)
 */
import assert from "node:assert/strict";
import type { RowDataPacket } from "mysql2/promise";
import { registerPlayer, startTestApp, testAdminToken, testKeyId, type TestApp, type TestPlayer } from "../helpers/start-app.js";
import { grpc, grpcErrorOf } from "../helpers/grpc-client.js";
import { forgedTokens, grpcStubs, postJson, rawSignWithServerKey, signWithServerKey, validClaims, type Stubs } from "./clients.js";

const ts = "2026-11-26T09:15:00Z";

describe("security: access tokens, refresh token families and the admin API", function () {
  this.timeout(60_000);
  let app: TestApp;
  let stubs: Stubs;
  let alice: TestPlayer;
  let forged: Array<[string, string]>;

  before(async () => {
    app = await startTestApp({ name: "sec_tokens", role: "gateway", env: { LOGIN_MAX_FAILURES_PER_EMAIL: "1000000", INGEST_RATE_PER_USER: "0" } });
    stubs = grpcStubs(app.url);
    alice = await registerPlayer(app.url);
    const jwks = (await (await fetch(`${app.url}/.well-known/jwks.json`)).json()) as { keys: Array<Record<string, unknown>> };
    forged = await forgedTokens(alice.userId, jwks.keys);
  });
  after(async () => {
    stubs?.close();
    await app?.close();
  });

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const batchOf = (userId: string) => ({ user_id: userId, game_id: "com.example.game", events: [{ type: "AppOpen", timestamp: ts }] });
  const grpcBatchOf = (userId: string) => ({ user_id: userId, game_id: "com.example.game", events: [{ type: "AppOpen", timestamp: ts }] });

  /** A Connect JSON unary call: the HTTP status and the Connect code. */
  async function connectJson(procedure: string, body: unknown, headers: Record<string, string>): Promise<{ status: number; code: string; body: Record<string, unknown> }> {
    const res = await postJson(app.url, `/${procedure}`, body, headers);
    const json = (await res.json()) as Record<string, unknown>;
    return { status: res.status, code: res.status === 200 ? "ok" : String(json.code), body: json };
  }

  /** Every player-facing and admin method, called with `headers` / `authorization`; returns what each answered. */
  async function everyMethod(authorization: string | undefined): Promise<Record<string, string | number>> {
    const h: Record<string, string> = authorization === undefined ? {} : { authorization };
    const opts = authorization === undefined ? {} : { authorization };
    const grpcCode = async (p: Promise<unknown>) => {
      try {
        await p;
        return "OK";
      } catch (err) {
        return grpc.status[(err as grpc.ServiceError).code] ?? String(err);
      }
    };
    return {
      "REST POST /ingest/events": (await postJson(app.url, "/ingest/events", batchOf(alice.userId), h)).status,
      "REST GET /wallet": (await fetch(`${app.url}/wallet`, { headers: h })).status,
      "gRPC IngestEvents": await grpcCode(stubs.ingest.call("IngestEvents", grpcBatchOf(alice.userId), opts)),
      "gRPC GetBalance": await grpcCode(stubs.wallet.call("GetBalance", {}, opts)),
      "gRPC ListLedger": await grpcCode(stubs.wallet.call("ListLedger", {}, opts)),
      "gRPC UpsertGame": await grpcCode(stubs.games.call("UpsertGame", { game: { game_id: "com.tokens.upserted", coins_enabled: true, coins_per_level: "5" } }, opts)),
      "gRPC GetGame": await grpcCode(stubs.games.call("GetGame", { game_id: "com.tokens.none" }, opts)),
      "gRPC ListGames": await grpcCode(stubs.games.call("ListGames", {}, opts)),
      "Connect IngestEvents": (await connectJson("playsmart.ingest.v1.IngestService/IngestEvents", batchOf(alice.userId), h)).code,
      "Connect GetBalance": (await connectJson("playsmart.wallet.v1.WalletService/GetBalance", {}, h)).code,
      "Connect UpsertGame": (await connectJson("playsmart.games.v1.GameService/UpsertGame", { game: { game_id: "com.tokens.upserted" } }, h)).code,
      "Connect ListGames": (await connectJson("playsmart.games.v1.GameService/ListGames", {}, h)).code,
    };
  }

  const allUnauthenticated = {
    "REST POST /ingest/events": 401,
    "REST GET /wallet": 401,
    "gRPC IngestEvents": "UNAUTHENTICATED",
    "gRPC GetBalance": "UNAUTHENTICATED",
    "gRPC ListLedger": "UNAUTHENTICATED",
    "gRPC UpsertGame": "UNAUTHENTICATED",
    "gRPC GetGame": "UNAUTHENTICATED",
    "gRPC ListGames": "UNAUTHENTICATED",
    "Connect IngestEvents": "unauthenticated",
    "Connect GetBalance": "unauthenticated",
    "Connect UpsertGame": "unauthenticated",
    "Connect ListGames": "unauthenticated",
  };

  async function gamesSnapshot(): Promise<unknown> {
    const [rows] = await app.pool.query<RowDataPacket[]>("SELECT game_id, coins_enabled, coins_per_level, daily_coin_cap FROM games ORDER BY game_id");
    return rows;
  }

  describe("access tokens", () => {
    it("positive controls: tokens signed with the server's key (by jose and by hand) open the player's methods", async () => {
      for (const token of [await signWithServerKey(validClaims(alice.userId)), rawSignWithServerKey({ alg: "EdDSA", kid: testKeyId, typ: "JWT" }, validClaims(alice.userId))]) {
        const answers = await everyMethod(`Bearer ${token}`);
        assert.deepEqual(answers, {
          "REST POST /ingest/events": 202,
          "REST GET /wallet": 200,
          "gRPC IngestEvents": "OK",
          "gRPC GetBalance": "OK",
          "gRPC ListLedger": "OK",
          "gRPC UpsertGame": "PERMISSION_DENIED",
          "gRPC GetGame": "PERMISSION_DENIED",
          "gRPC ListGames": "PERMISSION_DENIED",
          "Connect IngestEvents": "ok",
          "Connect GetBalance": "ok",
          "Connect UpsertGame": "permission_denied",
          "Connect ListGames": "permission_denied",
        });
      }
    });

    it("no token at all: 401 / UNAUTHENTICATED on every method", async () => {
      assert.deepEqual(await everyMethod(undefined), allUnauthenticated);
    });

    // One test per forged token, so a failure names the attack.
    const names = [
      "with an unknown kid", "with an empty kid", "expired", "not valid yet (nbf in an hour)", "without exp", "without sub", "with an empty sub",
      "of another issuer", "without an issuer", "for another audience", "for several audiences, not ours",
      "signed by another Ed25519 key under the server's kid", "signed by another key that it embeds (jwk header)", "ES256 with a key of its own",
      "HS256 keyed with the public JWK as JSON", "HS256 keyed with the public key's x", "HS256 keyed with the raw public key bytes", "HS256 keyed with a PEM public key",
      "alg none", "alg None", "alg none with the original signature", "with a crit header it cannot understand", "with sub a number", "with exp a string",
      "with a tampered payload", "with a truncated signature", "with the signature of another token", "as a JWE-shaped five-part token", "malformed", "garbage",
    ];
    for (const name of names) {
      it(`a token ${name}: 401 with the bearer challenge / UNAUTHENTICATED on every method`, async () => {
        const token = forged.find(([n]) => n === name)?.[1];
        assert.ok(token !== undefined, `no forged token named ${name}`);
        const games = await gamesSnapshot();
        assert.deepEqual(await everyMethod(`Bearer ${token}`), allUnauthenticated);
        const res = await postJson(app.url, "/ingest/events", batchOf(alice.userId), bearer(token));
        assert.equal(res.headers.get("www-authenticate"), 'Bearer error="invalid_token"');
        assert.deepEqual(await res.json(), { error: "UNAUTHORIZED", message: "missing or invalid access token" });
        assert.deepEqual(await gamesSnapshot(), games, "a refused UpsertGame changed the games");
      });
    }

    it("every refusal looks the same: one REST body, one gRPC message, whatever the cause", async () => {
      const bodies = new Set<string>();
      const messages = new Set<string>();
      for (const [, token] of forged) {
        bodies.add(await (await postJson(app.url, "/ingest/events", batchOf(alice.userId), bearer(token))).text());
        messages.add((await grpcErrorOf(stubs.wallet.call("GetBalance", {}, { authorization: `Bearer ${token}` }))).details);
      }
      assert.equal(bodies.size, 1, [...bodies].join("\n"));
      assert.equal(messages.size, 1, [...messages].join("\n"));
    });

    it("a valid token of a user who does not exist, or was deleted, opens only that user's own data", async () => {
      const ghost = "01a00000-0000-7000-8000-000000000000";
      const carol = await registerPlayer(app.url);
      await app.pool.query("DELETE FROM users WHERE user_id = ?", [carol.userId]);
      for (const [who, token] of [["unknown", await signWithServerKey(validClaims(ghost))], ["deleted", carol.accessToken]] as const) {
        const sub = who === "unknown" ? ghost : carol.userId;
        const wallet = await fetch(`${app.url}/wallet`, { headers: bearer(token) });
        assert.equal(wallet.status, 200);
        assert.deepEqual(await wallet.json(), { user_id: sub, balance: "0" }, `${who}: GET /wallet is the token's own`);
        const balance = await stubs.wallet.call<{ user_id: string }>("GetBalance", {}, { authorization: `Bearer ${token}` });
        assert.equal(balance.user_id, sub);
        assert.equal((await postJson(app.url, "/ingest/events", batchOf(alice.userId), bearer(token))).status, 403, `${who}: another player's batch`);
        const err = await grpcErrorOf(stubs.ingest.call("IngestEvents", grpcBatchOf(alice.userId), { authorization: `Bearer ${token}` }));
        assert.equal(err.code, grpc.status.PERMISSION_DENIED);
        const admin = await grpcErrorOf(stubs.games.call("ListGames", {}, { authorization: `Bearer ${token}` }));
        assert.equal(admin.code, grpc.status.PERMISSION_DENIED);
      }
    });

    it("a refresh token is not an access token, and an access token is not a refresh token", async () => {
      assert.equal((await fetch(`${app.url}/wallet`, { headers: bearer(alice.refreshToken) })).status, 401);
      const err = await grpcErrorOf(stubs.wallet.call("GetBalance", {}, { authorization: `Bearer ${alice.refreshToken}` }));
      assert.equal(err.code, grpc.status.UNAUTHENTICATED);
      assert.equal((await postJson(app.url, "/auth/refresh", { refresh_token: alice.accessToken })).status, 401);
      assert.equal((await grpcErrorOf(stubs.auth.call("Refresh", { refresh_token: alice.accessToken }))).code, grpc.status.UNAUTHENTICATED);
      assert.equal((await grpcErrorOf(stubs.auth.call("Refresh", { refresh_token: testAdminToken }))).code, grpc.status.UNAUTHENTICATED);
    });
  });

  describe("refresh token families", () => {
    async function familyOf(refreshToken: string): Promise<RowDataPacket[]> {
      const { createHash } = await import("node:crypto");
      const hash = createHash("sha256").update(refreshToken).digest("hex");
      const [rows] = await app.pool.query<RowDataPacket[]>(
        "SELECT token_hash, used_at IS NOT NULL AS used, revoked_at IS NOT NULL AS revoked FROM refresh_tokens WHERE family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = ?)",
        [hash],
      );
      return rows;
    }

    it("REST: reusing a spent token revokes every token of its family, old and new; other families live on", async () => {
      const p = await registerPlayer(app.url);
      const chain = [p.refreshToken];
      for (let i = 0; i < 3; i++) {
        const res = await postJson(app.url, "/auth/refresh", { refresh_token: chain[chain.length - 1] });
        assert.equal(res.status, 200);
        chain.push(((await res.json()) as { refresh_token: string }).refresh_token);
      }
      const otherFamily = await postJson(app.url, "/auth/login", { email: p.email, password: p.password });
      const other = ((await otherFamily.json()) as { refresh_token: string }).refresh_token;
      // chain[1] was spent making chain[2]: using it again means it leaked.
      assert.equal((await postJson(app.url, "/auth/refresh", { refresh_token: chain[1] })).status, 401);
      for (const [i, token] of chain.entries()) {
        assert.equal((await postJson(app.url, "/auth/refresh", { refresh_token: token })).status, 401, `family token #${i} still works after the reuse`);
      }
      const rows = await familyOf(chain[3]!);
      assert.equal(rows.length, 4);
      assert.ok(rows.every((r) => Number(r.revoked) === 1), "every token of the family is revoked in MySQL");
      const res = await postJson(app.url, "/auth/refresh", { refresh_token: other });
      assert.equal(res.status, 200, "another family of the same player is untouched");
    });

    it("gRPC: the same over AuthService.Refresh", async () => {
      const p = await registerPlayer(app.url);
      const r1 = await stubs.auth.call<{ refresh_token: string; user_id: string }>("Refresh", { refresh_token: p.refreshToken });
      assert.equal(r1.user_id, p.userId);
      const r2 = await stubs.auth.call<{ refresh_token: string }>("Refresh", { refresh_token: r1.refresh_token });
      const reuse = await grpcErrorOf(stubs.auth.call("Refresh", { refresh_token: p.refreshToken }));
      assert.equal(reuse.code, grpc.status.UNAUTHENTICATED);
      for (const token of [r1.refresh_token, r2.refresh_token]) {
        assert.equal((await grpcErrorOf(stubs.auth.call("Refresh", { refresh_token: token }))).code, grpc.status.UNAUTHENTICATED);
      }
      const c = await connectJson("playsmart.auth.v1.AuthService/Refresh", { refresh_token: r2.refresh_token }, {});
      assert.deepEqual([c.status, c.code], [401, "unauthenticated"]);
    });

    it("a race of 6 refreshes with one token: exactly one wins, and the reuse then revokes the winner's new token", async () => {
      const p = await registerPlayer(app.url);
      const answers = await Promise.all(Array.from({ length: 6 }, () => postJson(app.url, "/auth/refresh", { refresh_token: p.refreshToken })));
      const statuses = answers.map((a) => a.status).sort();
      assert.deepEqual(statuses, [200, 401, 401, 401, 401, 401], "exactly one refresh may spend a token");
      const winner = answers.find((a) => a.status === 200)!;
      const next = ((await winner.json()) as { refresh_token: string }).refresh_token;
      assert.equal((await postJson(app.url, "/auth/refresh", { refresh_token: next })).status, 401, "the family was revoked by the losing reuses");
    });
  });

  describe("the admin API (GameService)", () => {
    const methods: Array<[string, unknown, string, unknown]> = [
      ["UpsertGame", { game: { game_id: "com.admin.probe", coins_enabled: true, coins_per_level: "9" } }, "playsmart.games.v1.GameService/UpsertGame", { game: { game_id: "com.admin.probe", coins_enabled: true, coins_per_level: "9" } }],
      ["GetGame", { game_id: "com.admin.probe" }, "playsmart.games.v1.GameService/GetGame", { game_id: "com.admin.probe" }],
      ["ListGames", {}, "playsmart.games.v1.GameService/ListGames", {}],
    ];

    async function adminAnswers(authorization: string | undefined): Promise<string[]> {
      const out: string[] = [];
      for (const [method, grpcReq, procedure, jsonReq] of methods) {
        try {
          await stubs.games.call(method, grpcReq, authorization === undefined ? {} : { authorization });
          out.push(`gRPC ${method} OK`);
        } catch (err) {
          out.push(`gRPC ${method} ${grpc.status[(err as grpc.ServiceError).code]}`);
        }
        const c = await connectJson(procedure, jsonReq, authorization === undefined ? {} : { authorization });
        out.push(`Connect ${method} ${c.code} ${c.status}`);
      }
      return out;
    }
    const expectAll = (grpcCode: string, connectCode: string, http: number) =>
      methods.flatMap(([m]) => [`gRPC ${m} ${grpcCode}`, `Connect ${m} ${connectCode} ${http}`]);

    it("refuses a missing token with UNAUTHENTICATED on every method", async () => {
      const games = await gamesSnapshot();
      assert.deepEqual(await adminAnswers(undefined), expectAll("UNAUTHENTICATED", "unauthenticated", 401));
      assert.deepEqual(await gamesSnapshot(), games);
    });

    it("refuses a player's token with PERMISSION_DENIED on every method", async () => {
      const games = await gamesSnapshot();
      assert.deepEqual(await adminAnswers(`Bearer ${alice.accessToken}`), expectAll("PERMISSION_DENIED", "permission_denied", 403));
      assert.deepEqual(await gamesSnapshot(), games);
    });

    it("refuses near misses of the admin token with UNAUTHENTICATED on every method", async () => {
      const games = await gamesSnapshot();
      const nearMisses = [
        `Bearer ${testAdminToken}x`,
        `Bearer ${testAdminToken.slice(0, -1)}`,
        `Bearer ${testAdminToken.toUpperCase()}`,
        `Bearer ${testAdminToken} ${testAdminToken}`,
        `Basic ${testAdminToken}`,
        `Token ${testAdminToken}`,
        testAdminToken,
        `Bearer ${Buffer.from(testAdminToken).toString("base64")}`,
        "Bearer ",
      ];
      for (const authorization of nearMisses) {
        assert.deepEqual(await adminAnswers(authorization), expectAll("UNAUTHENTICATED", "unauthenticated", 401), `authorization ${JSON.stringify(authorization)}`);
      }
      assert.deepEqual(await gamesSnapshot(), games);
    });

    it("answers the admin token (control), which in turn opens no player's method", async () => {
      const answers = await adminAnswers(`Bearer ${testAdminToken}`);
      assert.deepEqual(answers, expectAll("OK", "ok", 200));
      const err = await grpcErrorOf(stubs.wallet.call("GetBalance", {}, { authorization: `Bearer ${testAdminToken}` }));
      assert.equal(err.code, grpc.status.PERMISSION_DENIED);
      const ingest = await grpcErrorOf(stubs.ingest.call("IngestEvents", grpcBatchOf(alice.userId), { authorization: `Bearer ${testAdminToken}` }));
      assert.equal(ingest.code, grpc.status.PERMISSION_DENIED);
      assert.equal((await fetch(`${app.url}/wallet`, { headers: bearer(testAdminToken) })).status, 403);
    });

    it("with no ADMIN_TOKEN configured, every admin call is refused, whatever the token", async () => {
      const bare = await startTestApp({ name: "sec_tokens_noadmin", role: "gateway", env: { ADMIN_TOKEN: "" } });
      const bareStubs = grpcStubs(bare.url);
      try {
        assert.equal(bare.config.adminToken, undefined);
        const player = await registerPlayer(bare.url);
        for (const [authorization, code] of [
          [`Bearer ${testAdminToken}`, grpc.status.UNAUTHENTICATED],
          ["Bearer ", grpc.status.UNAUTHENTICATED],
          [undefined, grpc.status.UNAUTHENTICATED],
          [`Bearer ${player.accessToken}`, grpc.status.PERMISSION_DENIED],
        ] as const) {
          for (const [method, req] of methods) {
            const err = await grpcErrorOf(bareStubs.games.call(method, req, authorization === undefined ? {} : { authorization }));
            assert.equal(err.code, code, `${method} with ${authorization?.slice(0, 20)}`);
          }
        }
      } finally {
        bareStubs.close();
        await bare.close();
      }
    });
  });
});
