import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { importPKCS8, SignJWT } from "jose";
import { registerPlayer, startTestApp, testKeyId, testSigningKeyPem, type TestApp, type TestPlayer } from "../../helpers/start-app.js";

const ts = "2026-11-26T09:15:00Z";
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");

describe("REST accounts and tokens", () => {
  let app: TestApp;
  let alice: TestPlayer;

  before(async () => {
    app = await startTestApp({ name: "rest_auth" });
    alice = await registerPlayer(app.url);
  });
  after(() => app.close());

  const postJson = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${app.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
  const ingestWith = (token: string) =>
    postJson("/ingest/events", { user_id: alice.userId, game_id: "com.example.mygame", events: [{ type: "AppOpen", timestamp: ts }] }, {
      authorization: `Bearer ${token}`,
    });
  const sign = async (claims: Record<string, unknown>, header: Record<string, unknown> = {}) => {
    const key = await importPKCS8(testSigningKeyPem, "EdDSA");
    return new SignJWT(claims).setProtectedHeader({ alg: "EdDSA", kid: testKeyId, ...header }).sign(key);
  };
  const now = () => Math.floor(Date.now() / 1000);
  const validClaims = () => ({ sub: alice.userId, iss: "playsmart", aud: "playsmart-games", iat: now(), exp: now() + 600 });

  describe("register", () => {
    it("answers 201 with the token pair and no-store", async () => {
      const res = await postJson("/auth/register", { email: "New.Player@Example.com", password: "long enough pw" });
      assert.equal(res.status, 201);
      assert.equal(res.headers.get("cache-control"), "no-store");
      const body = (await res.json()) as Record<string, unknown>;
      assert.deepEqual(Object.keys(body).sort(), ["access_token", "expires_in", "refresh_token", "token_type", "user_id"]);
      assert.equal(body.token_type, "Bearer");
      assert.equal(body.expires_in, 900);
      const [header, payload] = (body.access_token as string).split(".").slice(0, 2).map((p) => JSON.parse(Buffer.from(p, "base64url").toString()));
      assert.equal(header.alg, "EdDSA");
      assert.equal(header.kid, testKeyId);
      assert.equal(payload.sub, body.user_id);
      assert.equal(payload.iss, "playsmart");
      assert.equal(payload.aud, "playsmart-games");
      assert.equal(payload.exp - payload.iat, 900);
    });

    it("answers 409 for a taken email, whatever its case", async () => {
      const res = await postJson("/auth/register", { email: alice.email.toUpperCase(), password: "another password" });
      assert.equal(res.status, 409);
      assert.equal(((await res.json()) as { error: string }).error, "CONFLICT");
    });

    it("answers 400 for a weak password or a bad email, naming the fields", async () => {
      const res = await postJson("/auth/register", { email: "not-an-email", password: "short" });
      assert.equal(res.status, 400);
      const body = (await res.json()) as { details: Array<{ field: string }> };
      assert.deepEqual(body.details.map((d) => d.field), ["email", "password"]);
    });
  });

  describe("login", () => {
    it("answers 200 with a new pair for the right password", async () => {
      const res = await postJson("/auth/login", { email: alice.email, password: alice.password });
      assert.equal(res.status, 200);
      const body = (await res.json()) as { user_id: string; access_token: string };
      assert.equal(body.user_id, alice.userId);
      assert.equal((await ingestWith(body.access_token)).status, 202);
    });

    it("answers the same 401 for a wrong password and an unknown email", async () => {
      const wrong = await postJson("/auth/login", { email: alice.email, password: "wrong password" });
      const unknown = await postJson("/auth/login", { email: "nobody@example.com", password: "wrong password" });
      assert.equal(wrong.status, 401);
      assert.equal(unknown.status, 401);
      assert.deepEqual(await wrong.json(), await unknown.json());
    });
  });

  describe("refresh", () => {
    it("rotates: a refresh token works once, and its reuse revokes the whole family", async () => {
      const player = await registerPlayer(app.url);
      const first = await postJson("/auth/refresh", { refresh_token: player.refreshToken });
      assert.equal(first.status, 200);
      assert.equal(first.headers.get("cache-control"), "no-store");
      const pair = (await first.json()) as { refresh_token: string; user_id: string };
      assert.equal(pair.user_id, player.userId);
      assert.notEqual(pair.refresh_token, player.refreshToken);

      const reuse = await postJson("/auth/refresh", { refresh_token: player.refreshToken });
      assert.equal(reuse.status, 401);
      // The rotated token was issued to whoever holds the leaked one: revoked too.
      const next = await postJson("/auth/refresh", { refresh_token: pair.refresh_token });
      assert.equal(next.status, 401);
    });

    it("answers 401 for an unknown refresh token", async () => {
      assert.equal((await postJson("/auth/refresh", { refresh_token: "nope" })).status, 401);
      assert.equal((await postJson("/auth/refresh", {})).status, 401);
    });
  });

  describe("access tokens on ingest", () => {
    it("accepts a token signed by the server's key", async () => {
      assert.equal((await ingestWith(await sign(validClaims()))).status, 202);
    });

    const refused: Array<[string, () => Promise<string>]> = [
      ["malformed", async () => "not.a.jwt"],
      ["expired", () => sign({ ...validClaims(), iat: now() - 1200, exp: now() - 600 })],
      ["without exp", async () => { const { exp: _exp, ...c } = validClaims(); return sign(c); }],
      ["of another issuer", () => sign({ ...validClaims(), iss: "evil" })],
      ["for another audience", () => sign({ ...validClaims(), aud: "other" })],
      ["with an unknown kid", () => sign(validClaims(), { kid: "unknown" })],
      ["with a tampered payload", async () => {
        const [h, , s] = alice.accessToken.split(".");
        return `${h}.${b64({ ...validClaims(), sub: alice.userId, exp: now() + 99999 })}.${s}`;
      }],
      ["re-signed with HS256 using the public key", async () => {
        const header = b64({ alg: "HS256", kid: testKeyId, typ: "JWT" });
        const payload = b64(validClaims());
        const res = await fetch(`${app.url}/.well-known/jwks.json`);
        const secret = JSON.stringify(((await res.json()) as { keys: unknown[] }).keys[0]);
        const sig = createHmac("sha256", secret).update(`${header}.${payload}`).digest("base64url");
        return `${header}.${payload}.${sig}`;
      }],
      ["with alg none", async () => `${b64({ alg: "none", typ: "JWT" })}.${b64(validClaims())}.`],
    ];
    for (const [name, make] of refused) {
      it(`refuses a token ${name} with 401 and the bearer challenge`, async () => {
        const res = await ingestWith(await make());
        assert.equal(res.status, 401);
        assert.equal(res.headers.get("www-authenticate"), 'Bearer error="invalid_token"');
        assert.deepEqual(await res.json(), { error: "UNAUTHORIZED", message: "missing or invalid access token" });
      });
    }

    it("answers 403 for a valid token of another user", async () => {
      const bob = await registerPlayer(app.url);
      const res = await ingestWith(bob.accessToken);
      assert.equal(res.status, 403);
    });

    it("refuses the admin token on player routes with 403", async () => {
      const res = await ingestWith(app.config.adminToken!);
      assert.equal(res.status, 403);
    });
  });

  it("serves the public keys at /.well-known/jwks.json without private parts", async () => {
    const res = await fetch(`${app.url}/.well-known/jwks.json`);
    assert.equal(res.status, 200);
    const { keys } = (await res.json()) as { keys: Array<Record<string, unknown>> };
    assert.equal(keys.length, 1);
    assert.equal(keys[0]!.kid, testKeyId);
    assert.equal(keys[0]!.alg, "EdDSA");
    assert.equal(keys[0]!.crv, "Ed25519");
    assert.equal(keys[0]!.d, undefined);
  });
});
