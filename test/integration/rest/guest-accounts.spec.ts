import assert from "node:assert/strict";
import { createHash, randomUUID } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import type { RowDataPacket } from "mysql2/promise";
import { createDynamicClient, type DynamicClient } from "../../helpers/grpc-client.js";
import { registerPlayer, startTestApp, testAdminToken, type TestApp, type TestPlayer } from "../../helpers/start-app.js";
import { testStreamPrefix } from "../../helpers/test-env.js";

interface PairBody {
  user_id: string;
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token: string;
}

const sha256 = (s: string) => createHash("sha256").update(s).digest();

describe("guest (device) accounts and linking an email", function () {
  this.timeout(20_000);
  let app: TestApp;
  let limited: TestApp;
  let grpcAuth: DynamicClient;

  before(async () => {
    app = await startTestApp({ name: "guest_accounts" });
    // Same database; two new players per IP per window.
    limited = await startTestApp({ name: "guest_accounts", env: { REGISTER_MAX_PER_IP: "2", STREAM_PREFIX: testStreamPrefix("guest_limited") } });
    grpcAuth = createDynamicClient(app.url, "playsmart/auth/v1/auth.proto", "playsmart.auth.v1.AuthService");
  });
  after(async () => {
    grpcAuth.close();
    await limited.close();
    await app.close();
  });

  const post = (path: string, body: unknown, token?: string, base = app.url) =>
    fetch(`${base}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
  const device = (deviceId: unknown, token?: string, base?: string) => post("/auth/device", { device_id: deviceId }, token, base);
  const link = (token: string | undefined, email: unknown, password: unknown) => post("/auth/link", { email, password }, token);
  const newDeviceId = () => `ios-${randomUUID()}`;
  const newEmail = () => `guest-${randomUUID()}@example.com`;
  const rows = async (sql: string, params: unknown[]) => (await app.pool.query<RowDataPacket[]>(sql, params))[0];

  describe("POST /auth/device", () => {
    it("creates a player on the first call (201) and signs the same one in afterwards (200)", async () => {
      const id = newDeviceId();
      const first = await device(id);
      assert.equal(first.status, 201);
      assert.equal(first.headers.get("cache-control"), "no-store");
      const created = (await first.json()) as PairBody;
      assert.deepEqual(Object.keys(created).sort(), ["access_token", "expires_in", "refresh_token", "token_type", "user_id"]);
      assert.equal(created.token_type, "Bearer");
      assert.equal(created.expires_in, 900);

      const again = await device(id);
      assert.equal(again.status, 200);
      const signedIn = (await again.json()) as PairBody;
      assert.equal(signedIn.user_id, created.user_id);
      assert.notEqual(signedIn.refresh_token, created.refresh_token);
      // The token works: the guest's (empty) wallet.
      const wallet = await fetch(`${app.url}/wallet`, { headers: { authorization: `Bearer ${signedIn.access_token}` } });
      assert.equal(wallet.status, 200);
      assert.deepEqual(await wallet.json(), { user_id: created.user_id, balance: "0" });
      // And its refresh token rotates like any other.
      const refreshed = await post("/auth/refresh", { refresh_token: signedIn.refresh_token });
      assert.equal(refreshed.status, 200);
      assert.equal(((await refreshed.json()) as PairBody).user_id, created.user_id);
    });

    it("stores only the SHA-256 of the device id, and a guest without email or password", async () => {
      const id = newDeviceId();
      const { user_id } = (await (await device(id)).json()) as PairBody;
      const devices = await rows("SELECT device_hash, user_id FROM devices WHERE user_id = ?", [user_id]);
      assert.equal(devices.length, 1);
      assert.deepEqual(devices[0]!.device_hash, sha256(id));
      const users = await rows("SELECT email, password_hash FROM users WHERE user_id = ?", [user_id]);
      assert.deepEqual(users.map((u) => ({ ...u })), [{ email: null, password_hash: null }]);
      // No column of any row of either table holds the id, as text or as its hex.
      for (const table of ["devices", "users", "refresh_tokens"]) {
        for (const row of await rows(`SELECT * FROM ${table} WHERE user_id = ?`, [user_id])) {
          for (const [column, value] of Object.entries(row)) {
            const text = Buffer.isBuffer(value) ? `${value.toString("latin1")} ${value.toString("hex")}` : String(value);
            assert.ok(!text.includes(id) && !text.includes(Buffer.from(id).toString("hex")), `${table}.${column} holds the device id`);
          }
        }
      }
    });

    it("two first calls of one device at once make one player: one 201, one 200, one device row", async () => {
      const id = newDeviceId();
      const answers = await Promise.all([device(id), device(id), device(id)]);
      const statuses = answers.map((r) => r.status).sort();
      assert.deepEqual(statuses, [200, 200, 201]);
      const users = new Set(await Promise.all(answers.map(async (r) => ((await r.json()) as PairBody).user_id)));
      assert.equal(users.size, 1);
      const owners = await rows("SELECT user_id FROM devices WHERE device_hash = ?", [sha256(id)]);
      assert.deepEqual(owners.map((r) => r.user_id), [...users]);
    });

    it("a first call racing a player's attach: whichever wins owns the device, and the other side agrees", async () => {
      const alice = await registerPlayer(app.url);
      const id = newDeviceId();
      const [anonymous, attach] = await Promise.all([device(id), device(id, alice.accessToken)]);
      const owner = (await rows("SELECT user_id FROM devices WHERE device_hash = ?", [sha256(id)])).map((r) => r.user_id);
      assert.equal(owner.length, 1);
      const guest = (await anonymous.json()) as PairBody;
      if (owner[0] === alice.userId) {
        // The attach won: the anonymous call signed alice in.
        assert.deepEqual([anonymous.status, attach.status, guest.user_id], [200, 200, alice.userId]);
      } else {
        // The new guest won: alice is refused.
        assert.deepEqual([anonymous.status, attach.status, guest.user_id], [201, 409, owner[0]]);
      }
    });

    it("answers 400 naming device_id for ids that are too short, too long, not ASCII, not printable or not a string", async () => {
      const bad: Array<[unknown, string]> = [
        ["short-id1", "must be 10 to 128 characters, got 9"],
        ["x".repeat(129), "must be 10 to 128 characters, got 129"],
        ["device-\u00e9t\u00e9-1234", "must hold printable ASCII characters only (0x20 to 0x7E)"],
        ["device\n123456", "must hold printable ASCII characters only (0x20 to 0x7E)"],
        ["device\u0000123456", "must hold printable ASCII characters only (0x20 to 0x7E)"],
        [1234567890123, "is required and must be a string of 10 to 128 printable ASCII characters"],
        [undefined, "is required and must be a string of 10 to 128 printable ASCII characters"],
      ];
      for (const [id, reason] of bad) {
        const res = await device(id);
        assert.equal(res.status, 400, `device_id ${JSON.stringify(id)}`);
        const body = (await res.json()) as { error: string; details: Array<{ field: string; reason: string }> };
        assert.equal(body.error, "BAD_REQUEST");
        assert.deepEqual(body.details.map((d) => [d.field, d.reason]), [["device_id", reason]], `device_id ${JSON.stringify(id)}`);
      }
      // The bounds themselves are accepted.
      assert.equal((await device(`a${randomUUID().slice(0, 9)}`)).status, 201);
      assert.equal((await device(`${randomUUID()}`.padEnd(128, "~"))).status, 201);
    });

    it("with a player's token attaches the device to that player (200), and refuses another player's device (409)", async () => {
      const alice = await registerPlayer(app.url);
      const id = newDeviceId();
      const attached = await device(id, alice.accessToken);
      assert.equal(attached.status, 200);
      assert.equal(((await attached.json()) as PairBody).user_id, alice.userId);
      // Signing in with the device alone now gives alice.
      const signIn = await device(id);
      assert.equal(signIn.status, 200);
      assert.equal(((await signIn.json()) as PairBody).user_id, alice.userId);
      // Attaching again is the same answer.
      assert.equal((await device(id, alice.accessToken)).status, 200);

      const bob = await registerPlayer(app.url);
      const taken = await device(id, bob.accessToken);
      assert.equal(taken.status, 409);
      assert.deepEqual(await taken.json(), { error: "CONFLICT", message: "this device is linked to another player" });
      const owners = await rows("SELECT user_id FROM devices WHERE device_hash = ?", [sha256(id)]);
      assert.deepEqual(owners.map((r) => r.user_id), [alice.userId]);
    });

    it("answers 401 for a bad token and 403 for the admin token, and creates nothing", async () => {
      const id = newDeviceId();
      const bad = await device(id, "not-a-jwt");
      assert.equal(bad.status, 401);
      assert.equal(bad.headers.get("www-authenticate"), 'Bearer error="invalid_token"');
      assert.equal((await device(id, testAdminToken)).status, 403);
      assert.equal((await rows("SELECT 1 FROM devices WHERE device_hash = ?", [sha256(id)])).length, 0);
    });

    it("answers 429 with Retry-After past the IP's new-player limit, while known devices still sign in", async () => {
      const known = newDeviceId();
      assert.equal((await device(known, undefined, limited.url)).status, 201);
      assert.equal((await device(newDeviceId(), undefined, limited.url)).status, 201);
      const refused = await device(newDeviceId(), undefined, limited.url);
      assert.equal(refused.status, 429);
      assert.ok(Number(refused.headers.get("retry-after")) >= 1);
      assert.equal(((await refused.json()) as { error: string }).error, "TOO_MANY_REQUESTS");
      assert.equal((await device(known, undefined, limited.url)).status, 200);
    });
  });

  describe("POST /auth/link", () => {
    it("attaches an email and password: same user_id, and email login works", async () => {
      const guest = (await (await device(newDeviceId())).json()) as PairBody;
      const email = newEmail();
      const res = await link(guest.access_token, email.toUpperCase(), "long enough pw");
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("cache-control"), "no-store");
      assert.deepEqual(await res.json(), { user_id: guest.user_id, email });
      const login = await post("/auth/login", { email, password: "long enough pw" });
      assert.equal(login.status, 200);
      assert.equal(((await login.json()) as PairBody).user_id, guest.user_id);
      // A retried link (same email and password) answers the same.
      const retried = await link(guest.access_token, email, "long enough pw");
      assert.equal(retried.status, 200);
      assert.deepEqual(await retried.json(), { user_id: guest.user_id, email });
      // Two identical links at once (a retry racing the first): both 200.
      const racer = (await (await device(newDeviceId())).json()) as PairBody;
      const raceEmail = newEmail();
      const both = await Promise.all([link(racer.access_token, raceEmail, "long enough pw"), link(racer.access_token, raceEmail, "long enough pw")]);
      assert.deepEqual(both.map((r) => r.status), [200, 200]);
    });

    it("answers 409 for an email another player owns, and for a player that has an email already", async () => {
      const owner: TestPlayer = await registerPlayer(app.url);
      const guest = (await (await device(newDeviceId())).json()) as PairBody;
      const taken = await link(guest.access_token, owner.email, "long enough pw");
      assert.equal(taken.status, 409);
      assert.deepEqual(await taken.json(), { error: "CONFLICT", message: "this email is already registered" });
      const again = await link(owner.accessToken, newEmail(), "long enough pw");
      assert.equal(again.status, 409);
      assert.deepEqual(await again.json(), { error: "CONFLICT", message: "this player already has an email" });
      // A wrong password for the player's own email is no retry either.
      assert.equal((await link(owner.accessToken, owner.email, "not the password")).status, 409);
      const users = await rows("SELECT email FROM users WHERE user_id = ?", [guest.user_id]);
      assert.equal(users[0]!.email, null);
    });

    it("answers 400 naming email and password, 401 without a token, 403 for the admin token", async () => {
      const guest = (await (await device(newDeviceId())).json()) as PairBody;
      const bad = await link(guest.access_token, "not-an-email", "short");
      assert.equal(bad.status, 400);
      const body = (await bad.json()) as { details: Array<{ field: string }> };
      assert.deepEqual(body.details.map((d) => d.field), ["email", "password"]);
      const anonymous = await link(undefined, newEmail(), "long enough pw");
      assert.equal(anonymous.status, 401);
      assert.equal(anonymous.headers.get("www-authenticate"), 'Bearer error="invalid_token"');
      assert.equal((await link(testAdminToken, newEmail(), "long enough pw")).status, 403);
    });
  });

  describe("over gRPC (grpc-js)", () => {
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

    it("AuthenticateDevice creates, then signs in, and says which; LinkEmail links", async () => {
      const id = newDeviceId();
      const first = await grpcAuth.call<PairBody & { created: boolean }>("AuthenticateDevice", { device_id: id });
      assert.equal(first.created, true);
      assert.equal(first.token_type, "Bearer");
      const second = await grpcAuth.call<PairBody & { created: boolean }>("AuthenticateDevice", { device_id: id });
      assert.equal(second.created, false);
      assert.equal(second.user_id, first.user_id);

      const email = newEmail();
      const linked = await grpcAuth.call("LinkEmail", { email, password: "long enough pw" }, bearer(second.access_token));
      assert.deepEqual(linked, { user_id: first.user_id, email });
      const login = await grpcAuth.call<PairBody>("Login", { email, password: "long enough pw" });
      assert.equal(login.user_id, first.user_id);
    });

    it("maps the errors: INVALID_ARGUMENT, ALREADY_EXISTS, UNAUTHENTICATED", async () => {
      await assert.rejects(grpcAuth.call("AuthenticateDevice", { device_id: "short" }), (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
        return true;
      });
      const alice = await registerPlayer(app.url);
      const bob = await registerPlayer(app.url);
      const id = newDeviceId();
      await grpcAuth.call("AuthenticateDevice", { device_id: id }, bearer(alice.accessToken));
      await assert.rejects(grpcAuth.call("AuthenticateDevice", { device_id: id }, bearer(bob.accessToken)), (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.ALREADY_EXISTS);
        assert.equal(err.details, "this device is linked to another player");
        return true;
      });
      await assert.rejects(grpcAuth.call("LinkEmail", { email: newEmail(), password: "long enough pw" }), (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.UNAUTHENTICATED);
        return true;
      });
      await assert.rejects(grpcAuth.call("LinkEmail", { email: alice.email, password: "long enough pw" }, bearer(bob.accessToken)), (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.ALREADY_EXISTS);
        return true;
      });
    });
  });
});
