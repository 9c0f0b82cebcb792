/**
 * IngestService and AuthService over real gRPC (h2c) with @grpc/grpc-js, a client
 * the project did not write, using descriptors loaded at run time from `proto/`.
 * Every status row of the contract that applies to gRPC, typed error details
 * decoded from `grpc-status-details-bin`, and the Redis stream checked directly.
 */
import assert from "node:assert/strict";
import { fromBinary } from "@bufbuild/protobuf";
import { Redis } from "ioredis";
import { SignJWT } from "jose";
import { generateKeyPairSync } from "node:crypto";
import { BadRequestSchema } from "../../../gen/playsmart/common/v1/errors_pb.js";
import { IngestEventsRequestSchema } from "../../../gen/playsmart/ingest/v1/ingest_pb.js";
import { streamKey } from "../../../src/stream/stream-keys.js";
import {
  createDynamicClient,
  grpc,
  grpcErrorOf,
  statusDetailsOf,
  type DynamicClient,
} from "../../helpers/grpc-client.js";
import { registerPlayer, startTestApp, testKeyId, testSigningKey, type TestApp, type TestPlayer } from "../../helpers/start-app.js";
import { redisUrl } from "../../helpers/test-env.js";

const badRequestType = "type.googleapis.com/playsmart.common.v1.BadRequest";

interface IngestResponse {
  batch_id: string;
  accepted: number;
}
interface TokenPairResponse {
  user_id: string;
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token: string;
}

/** A valid event in proto-loader's object shape (keepCase: proto field names). */
function event(i: number): Record<string, unknown> {
  return { type: "LevelCompleted", timestamp: "2026-11-26T09:20:31.250+01:00", event_id: `ev-${i}` };
}

function events(n: number): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => event(i));
}

function fieldMap(fields: Buffer[]): Map<string, Buffer> {
  const m = new Map<string, Buffer>();
  for (let i = 0; i + 1 < fields.length; i += 2) m.set(fields[i]!.toString(), fields[i + 1]!);
  return m;
}

describe("IngestService over gRPC (@grpc/grpc-js, h2c)", function () {
  let app: TestApp;
  let ingest: DynamicClient;
  let auth: DynamicClient;
  let redis: Redis;
  let key: string;
  let alice: TestPlayer;
  let bob: TestPlayer;

  before(async function () {
    app = await startTestApp({ name: "rpc_ingest_grpc" });
    redis = new Redis(redisUrl);
    key = streamKey(app.config.streamPrefix, 0);
    ingest = createDynamicClient(app.url, "playsmart/ingest/v1/ingest.proto", "playsmart.ingest.v1.IngestService");
    auth = createDynamicClient(app.url, "playsmart/auth/v1/auth.proto", "playsmart.auth.v1.AuthService");
    [alice, bob] = await Promise.all([registerPlayer(app.url), registerPlayer(app.url)]);
  });

  after(async function () {
    ingest?.close();
    auth?.close();
    redis?.disconnect();
    await app?.close();
  });

  const bearer = (p: TestPlayer) => `Bearer ${p.accessToken}`;
  const xlen = () => redis.xlen(key);

  /** Sends a refused call and checks its code, and that the stream did not grow. */
  async function refused(request: unknown, authorization: string | undefined, code: grpc.status) {
    const before = await xlen();
    const err = await grpcErrorOf(
      ingest.call("IngestEvents", request, authorization === undefined ? {} : { authorization }),
    );
    assert.equal(err.code, code, `expected ${grpc.status[code]}, got ${grpc.status[err.code]}: ${err.details}`);
    assert.equal(await xlen(), before, "a refused batch must not be appended to the stream");
    return err;
  }

  async function okCall(n: number) {
    const before = await xlen();
    const res = await ingest.call<IngestResponse>(
      "IngestEvents",
      { user_id: alice.userId, game_id: "com.example.mygame", events: events(n) },
      { authorization: bearer(alice) },
    );
    assert.equal(res.accepted, n);
    assert.match(res.batch_id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(await xlen(), before + 1, "exactly one stream entry per accepted call");
    const [[, fields]] = (await redis.xrevrangeBuffer(key, "+", "-", "COUNT", 1)) as [[Buffer, Buffer[]]];
    const m = fieldMap(fields);
    assert.equal(m.get("b")?.toString(), res.batch_id);
    assert.equal(m.get("u")?.toString(), alice.userId);
    assert.equal(m.get("g")?.toString(), "com.example.mygame");
    assert.equal(m.get("f")?.toString(), "pb");
    const queued = fromBinary(IngestEventsRequestSchema, m.get("d")!);
    assert.equal(queued.events.length, n);
    assert.equal(queued.userId, alice.userId);
    return res;
  }

  describe("OK", function () {
    it("accepts a batch of 1 event and appends one entry with u/g/f/b", async function () {
      await okCall(1);
    });

    it("accepts a batch of 200 events as one entry", async function () {
      await okCall(200);
    });

    it("accepts every event type, customdata (nested Struct) and a Custom event with its name", async function () {
      const before = await xlen();
      const res = await ingest.call<IngestResponse>(
        "IngestEvents",
        {
          user_id: alice.userId,
          game_id: "com.example.mygame",
          events: [
            { type: "AppOpen", timestamp: "2026-11-26T09:15:00Z" },
            {
              type: "LevelCompleted",
              timestamp: "2026-11-26T09:20:31.250+01:00",
              // protobufjs' bundled google/protobuf/struct.proto spells Value's
              // fields in lowerCamel (numberValue ...) even with keepCase.
              customdata: {
                fields: {
                  level: { numberValue: 12 },
                  meta: { structValue: { fields: { boss: { stringValue: "ogre" } } } },
                },
              },
            },
            { type: "GameEnd", timestamp: "2026-11-26T09:20:32Z" },
            { type: "AdImpression", timestamp: "2026-11-26T09:20:33Z" },
            { type: "IAPPurchase", timestamp: "2026-11-26T09:20:34Z" },
            { type: "Custom", custom_event_name: "ChestOpened", timestamp: "2026-11-26T09:21:00-05:00" },
          ],
        },
        { authorization: bearer(alice) },
      );
      assert.equal(res.accepted, 6);
      assert.equal(await xlen(), before + 1);
      const [[, fields]] = (await redis.xrevrangeBuffer(key, "+", "-", "COUNT", 1)) as [[Buffer, Buffer[]]];
      const queued = fromBinary(IngestEventsRequestSchema, fieldMap(fields).get("d")!);
      assert.deepEqual(queued.events[1]!.customdata, { level: 12, meta: { boss: "ogre" } });
      assert.equal(queued.events[5]!.customEventName, "ChestOpened");
    });
  });

  describe("INVALID_ARGUMENT with a typed BadRequest detail", function () {
    function badRequestOf(err: grpc.ServiceError) {
      const status = statusDetailsOf(err);
      assert.equal(status.code, grpc.status.INVALID_ARGUMENT);
      const detail = status.details.find((d) => d.typeUrl === badRequestType);
      assert.ok(detail, `no ${badRequestType} detail among ${status.details.map((d) => d.typeUrl).join(", ")}`);
      return fromBinary(BadRequestSchema, detail.value);
    }

    it("refuses 0 events (index -1, field events)", async function () {
      const err = await refused(
        { user_id: alice.userId, game_id: "com.example.mygame", events: [] },
        bearer(alice),
        grpc.status.INVALID_ARGUMENT,
      );
      const bad = badRequestOf(err);
      assert.equal(bad.violations.length, 1);
      assert.equal(bad.violations[0]!.index, -1);
      assert.equal(bad.violations[0]!.field, "events");
    });

    it("refuses 201 events (index -1, field events)", async function () {
      const err = await refused(
        { user_id: alice.userId, game_id: "com.example.mygame", events: events(201) },
        bearer(alice),
        grpc.status.INVALID_ARGUMENT,
      );
      const bad = badRequestOf(err);
      assert.equal(bad.violations.length, 1);
      assert.equal(bad.violations[0]!.index, -1);
      assert.equal(bad.violations[0]!.field, "events");
    });

    it("refuses a timestamp without an offset, naming the event index", async function () {
      const err = await refused(
        {
          user_id: alice.userId,
          game_id: "com.example.mygame",
          events: [event(0), { type: "AppOpen", timestamp: "2026-11-26T09:15:00" }, event(2)],
        },
        bearer(alice),
        grpc.status.INVALID_ARGUMENT,
      );
      const bad = badRequestOf(err);
      assert.deepEqual(
        bad.violations.map((v) => [v.index, v.field]),
        [[1, "timestamp"]],
      );
    });

    it("refuses an impossible calendar date (2026-02-30)", async function () {
      const err = await refused(
        {
          user_id: alice.userId,
          game_id: "com.example.mygame",
          events: [{ type: "AppOpen", timestamp: "2026-02-30T10:00:00Z" }],
        },
        bearer(alice),
        grpc.status.INVALID_ARGUMENT,
      );
      assert.deepEqual(
        badRequestOf(err).violations.map((v) => [v.index, v.field]),
        [[0, "timestamp"]],
      );
    });

    it("refuses a Custom event without customEventName", async function () {
      const err = await refused(
        {
          user_id: alice.userId,
          game_id: "com.example.mygame",
          events: [event(0), event(1), { type: "Custom", timestamp: "2026-11-26T09:21:00-05:00" }],
        },
        bearer(alice),
        grpc.status.INVALID_ARGUMENT,
      );
      assert.deepEqual(
        badRequestOf(err).violations.map((v) => [v.index, v.field]),
        [[2, "customEventName"]],
      );
    });

    it("lists every bad event of the batch, in order", async function () {
      const err = await refused(
        {
          user_id: alice.userId,
          game_id: "com.example.mygame",
          events: [
            { type: "Nope", timestamp: "2026-11-26T09:15:00Z" },
            event(1),
            { type: "AppOpen", timestamp: "yesterday" },
            { type: "Custom", timestamp: "2026-11-26T09:15:00Z" },
          ],
        },
        bearer(alice),
        grpc.status.INVALID_ARGUMENT,
      );
      assert.deepEqual(
        badRequestOf(err).violations.map((v) => [v.index, v.field]),
        [
          [0, "type"],
          [2, "timestamp"],
          [3, "customEventName"],
        ],
      );
    });

    it("refuses a game_id that is not reverse-DNS (index -1, field game_id)", async function () {
      const err = await refused(
        { user_id: alice.userId, game_id: "mygame", events: [event(0)] },
        bearer(alice),
        grpc.status.INVALID_ARGUMENT,
      );
      assert.deepEqual(
        badRequestOf(err).violations.map((v) => [v.index, v.field]),
        [[-1, "game_id"]],
      );
    });
  });

  describe("UNAUTHENTICATED", function () {
    const body = () => ({ user_id: alice.userId, game_id: "com.example.mygame", events: [event(0)] });

    it("without a token", async function () {
      await refused(body(), undefined, grpc.status.UNAUTHENTICATED);
    });

    it("with a malformed Authorization value (not Bearer)", async function () {
      await refused(body(), `Token ${alice.accessToken}`, grpc.status.UNAUTHENTICATED);
    });

    it("with an empty Bearer", async function () {
      await refused(body(), "Bearer ", grpc.status.UNAUTHENTICATED);
    });

    it("with a garbage Bearer token, carrying the bearer challenge in the trailers", async function () {
      const err = await refused(body(), "Bearer not.a.jwt", grpc.status.UNAUTHENTICATED);
      assert.deepEqual(err.metadata.get("www-authenticate"), ['Bearer error="invalid_token"']);
    });

    it("with an expired token signed by the server's key", async function () {
      const now = Math.floor(Date.now() / 1000);
      const token = await new SignJWT({})
        .setProtectedHeader({ alg: "EdDSA", kid: testKeyId, typ: "JWT" })
        .setSubject(alice.userId)
        .setIssuer(app.config.jwt.issuer)
        .setAudience(app.config.jwt.audience)
        .setIssuedAt(now - 3600)
        .setExpirationTime(now - 1800)
        .sign(testSigningKey.privateKey);
      await refused(body(), `Bearer ${token}`, grpc.status.UNAUTHENTICATED);
    });

    it("with a token signed by another key", async function () {
      const other = generateKeyPairSync("ed25519");
      const token = await new SignJWT({})
        .setProtectedHeader({ alg: "EdDSA", kid: testKeyId, typ: "JWT" })
        .setSubject(alice.userId)
        .setIssuer(app.config.jwt.issuer)
        .setAudience(app.config.jwt.audience)
        .setIssuedAt()
        .setExpirationTime("10m")
        .sign(other.privateKey);
      await refused(body(), `Bearer ${token}`, grpc.status.UNAUTHENTICATED);
    });
  });

  describe("PERMISSION_DENIED", function () {
    it("with another player's token", async function () {
      await refused(
        { user_id: alice.userId, game_id: "com.example.mygame", events: [event(0)] },
        bearer(bob),
        grpc.status.PERMISSION_DENIED,
      );
    });

    it("with another player's token even when the batch is also invalid (ownership first)", async function () {
      await refused(
        { user_id: alice.userId, game_id: "com.example.mygame", events: [] },
        bearer(bob),
        grpc.status.PERMISSION_DENIED,
      );
    });
  });

  describe("AuthService over gRPC", function () {
    const password = "correct horse battery";
    const email = `grpc-${process.pid}-${Date.now()}@example.com`;
    let registered: TokenPairResponse;

    it("Register returns a token pair whose access token ingests over gRPC", async function () {
      registered = await auth.call<TokenPairResponse>("Register", { email, password });
      assert.match(registered.user_id, /^[0-9a-f-]{36}$/);
      assert.equal(registered.token_type, "Bearer");
      assert.equal(registered.expires_in, app.config.jwt.accessTtlSeconds);
      assert.ok(registered.access_token.split(".").length === 3, "access token is a JWT");
      assert.ok(registered.refresh_token.length > 0);
      const before = await xlen();
      const res = await ingest.call<IngestResponse>(
        "IngestEvents",
        { user_id: registered.user_id, game_id: "com.example.mygame", events: [event(0)] },
        { authorization: `Bearer ${registered.access_token}` },
      );
      assert.equal(res.accepted, 1);
      assert.equal(await xlen(), before + 1);
    });

    it("Register with a taken email is ALREADY_EXISTS", async function () {
      const err = await grpcErrorOf(auth.call("Register", { email, password }));
      assert.equal(err.code, grpc.status.ALREADY_EXISTS);
    });

    it("Register with a weak password is INVALID_ARGUMENT naming the field", async function () {
      const err = await grpcErrorOf(auth.call("Register", { email: `weak-${Date.now()}@example.com`, password: "short" }));
      assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
      const detail = statusDetailsOf(err).details.find((d) => d.typeUrl === badRequestType);
      assert.ok(detail);
      assert.deepEqual(
        fromBinary(BadRequestSchema, detail.value).violations.map((v) => [v.index, v.field]),
        [[-1, "password"]],
      );
    });

    it("Login returns a pair for the same user", async function () {
      const res = await auth.call<TokenPairResponse>("Login", { email, password });
      assert.equal(res.user_id, registered.user_id);
      assert.equal(res.token_type, "Bearer");
      assert.ok(res.access_token.length > 0);
      assert.ok(res.refresh_token.length > 0);
      assert.notEqual(res.refresh_token, registered.refresh_token);
    });

    it("Login with a wrong password and with an unknown email is UNAUTHENTICATED, same message", async function () {
      const wrong = await grpcErrorOf(auth.call("Login", { email, password: "wrong password!" }));
      const unknown = await grpcErrorOf(auth.call("Login", { email: `nobody-${Date.now()}@example.com`, password }));
      assert.equal(wrong.code, grpc.status.UNAUTHENTICATED);
      assert.equal(unknown.code, grpc.status.UNAUTHENTICATED);
      assert.equal(wrong.details, unknown.details);
    });

    it("Refresh rotates, and a reused refresh token is UNAUTHENTICATED", async function () {
      const res = await auth.call<TokenPairResponse>("Refresh", { refresh_token: registered.refresh_token });
      assert.equal(res.user_id, registered.user_id);
      assert.notEqual(res.refresh_token, registered.refresh_token);
      const err = await grpcErrorOf(auth.call("Refresh", { refresh_token: registered.refresh_token }));
      assert.equal(err.code, grpc.status.UNAUTHENTICATED);
    });
  });
});
