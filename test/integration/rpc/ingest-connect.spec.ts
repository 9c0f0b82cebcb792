/**
 * IngestService through the generated Connect client on every transport the
 * contract names: Connect JSON and binary over HTTP/1.1, gRPC-Web over HTTP/1.1,
 * and gRPC over HTTP/2 (h2c). Codes and typed details as a Connect client sees them.
 */
import assert from "node:assert/strict";
import { fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Client, type Transport } from "@connectrpc/connect";
import {
  Http2SessionManager,
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { Redis } from "ioredis";
import { BadRequestSchema } from "../../../gen/playsmart/common/v1/errors_pb.js";
import { IngestEventsRequestSchema, IngestService } from "../../../gen/playsmart/ingest/v1/ingest_pb.js";
import { streamKey } from "../../../src/stream/stream-keys.js";
import { registerPlayer, startTestApp, type TestApp, type TestPlayer } from "../../helpers/start-app.js";
import { redisUrl } from "../../helpers/test-env.js";

type IngestClient = Client<typeof IngestService>;

interface TransportCase {
  name: string;
  /** How the gateway queues what this transport sends: the raw message, as received. */
  queued: "json" | "pb";
  make(baseUrl: string, sessions: Http2SessionManager[]): Transport;
}

/** The queued request of a stream entry, whatever its format. */
function queuedRequest(format: string, d: Buffer) {
  if (format === "pb") return fromBinary(IngestEventsRequestSchema, d);
  // Protobuf JSON, as the client sent it: the worker reads it like a REST body.
  const j = JSON.parse(d.toString("utf8")) as { events: Array<Record<string, unknown>> };
  return { events: j.events.map((e) => ({ customdata: e.customdata, customEventName: e.customEventName ?? e.custom_event_name })) };
}

const transports: TransportCase[] = [
  {
    name: "Connect JSON over HTTP/1.1",
    queued: "json",
    make: (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: false }),
  },
  {
    name: "Connect binary over HTTP/1.1",
    queued: "pb",
    make: (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true }),
  },
  {
    name: "gRPC-Web over HTTP/1.1",
    queued: "pb",
    make: (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1" }),
  },
  {
    name: "gRPC over HTTP/2 (h2c)",
    queued: "pb",
    make: (baseUrl, sessions) => {
      const sessionManager = new Http2SessionManager(baseUrl);
      sessions.push(sessionManager);
      return createGrpcTransport({ baseUrl, sessionManager });
    },
  },
];

const timestamp = "2026-11-26T09:20:31.250+01:00";

function events(n: number) {
  return Array.from({ length: n }, (_, i) => ({ type: "LevelCompleted", timestamp, eventId: `e-${i}` }));
}

/** The ConnectError a call rejects with; fails when it resolves. */
async function connectErrorOf(promise: Promise<unknown>): Promise<ConnectError> {
  try {
    const res = await promise;
    assert.fail(`expected the call to fail, it answered ${JSON.stringify(res, (_k, v) => (typeof v === "bigint" ? String(v) : v))}`);
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    return ConnectError.from(err);
  }
}

describe("IngestService over the generated Connect client", function () {
  let app: TestApp;
  let redis: Redis;
  let key: string;
  let alice: TestPlayer;
  let bob: TestPlayer;
  const sessions: Http2SessionManager[] = [];

  before(async function () {
    app = await startTestApp({ name: "rpc_ingest_connect" });
    redis = new Redis(redisUrl);
    key = streamKey(app.config.streamPrefix, 0);
    [alice, bob] = await Promise.all([registerPlayer(app.url), registerPlayer(app.url)]);
  });

  after(async function () {
    for (const s of sessions) s.abort();
    redis?.disconnect();
    await app?.close();
  });

  const auth = (p: TestPlayer) => ({ headers: { authorization: `Bearer ${p.accessToken}` } });

  for (const t of transports) {
    describe(t.name, function () {
      let client: IngestClient;
      before(function () {
        client = createClient(IngestService, t.make(app.url, sessions));
      });

      /** Calls `call` (after reading XLEN, so no rejection waits unhandled) and checks the code. */
      async function refusedWith(call: () => Promise<unknown>, code: Code): Promise<ConnectError> {
        const before = await redis.xlen(key);
        const err = await connectErrorOf(call());
        assert.equal(err.code, code, `expected ${Code[code]}, got ${Code[err.code]}: ${err.rawMessage}`);
        assert.equal(await redis.xlen(key), before, "a refused batch must not be appended to the stream");
        return err;
      }

      it("OK: accepts 1 and 200 events, one stream entry each with the batch id", async function () {
        for (const n of [1, 200]) {
          const before = await redis.xlen(key);
          const res = await client.ingestEvents(
            { userId: alice.userId, gameId: "com.example.mygame", events: events(n) },
            auth(alice),
          );
          assert.equal(res.accepted, n);
          assert.match(res.batchId, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
          assert.equal(await redis.xlen(key), before + 1);
          const [[, fields]] = (await redis.xrevrangeBuffer(key, "+", "-", "COUNT", 1)) as [[Buffer, Buffer[]]];
          const m = new Map<string, Buffer>();
          for (let i = 0; i + 1 < fields.length; i += 2) m.set(fields[i]!.toString(), fields[i + 1]!);
          assert.equal(m.get("b")?.toString(), res.batchId);
          assert.equal(m.get("u")?.toString(), alice.userId);
          assert.equal(m.get("g")?.toString(), "com.example.mygame");
          assert.equal(m.get("f")?.toString(), t.queued);
          assert.equal(queuedRequest(t.queued, m.get("d")!).events.length, n);
        }
      });

      it("OK: keeps customdata (nested JSON object) and customEventName", async function () {
        const res = await client.ingestEvents(
          {
            userId: alice.userId,
            gameId: "com.example.mygame",
            events: [
              { type: "LevelCompleted", timestamp, customdata: { level: 12, score: 3400, extra: { a: [1, "x"] } } },
              { type: "Custom", customEventName: "ChestOpened", timestamp: "2026-11-26T09:21:00-05:00" },
            ],
          },
          auth(alice),
        );
        assert.equal(res.accepted, 2);
        const [[, fields]] = (await redis.xrevrangeBuffer(key, "+", "-", "COUNT", 1)) as [[Buffer, Buffer[]]];
        const d = fields[fields.findIndex((f, i) => i % 2 === 0 && f.toString() === "d") + 1]!;
        const queued = queuedRequest(t.queued, d);
        assert.deepEqual(queued.events[0]!.customdata, { level: 12, score: 3400, extra: { a: [1, "x"] } });
        assert.equal(queued.events[1]!.customEventName, "ChestOpened");
      });

      it("INVALID_ARGUMENT for 0 and 201 events, with a typed BadRequest", async function () {
        for (const n of [0, 201]) {
          const err = await refusedWith(
            () => client.ingestEvents({ userId: alice.userId, gameId: "com.example.mygame", events: events(n) }, auth(alice)),
            Code.InvalidArgument,
          );
          const [bad, ...rest] = err.findDetails(BadRequestSchema);
          assert.equal(rest.length, 0, "exactly one BadRequest detail");
          assert.ok(bad, "a BadRequest detail");
          assert.deepEqual(
            bad.violations.map((v) => [v.index, v.field]),
            [[-1, "events"]],
          );
        }
      });

      it("INVALID_ARGUMENT names each bad event by index and field", async function () {
        const err = await refusedWith(
          () => client.ingestEvents(
            {
              userId: alice.userId,
              gameId: "com.example.mygame",
              events: [
                { type: "AppOpen", timestamp: "2026-11-26T09:15:00Z" },
                { type: "AppOpen", timestamp: "2026-11-26 09:15" },
                { type: "Custom", timestamp: "2026-11-26T09:15:00Z" },
              ],
            },
            auth(alice),
          ),
          Code.InvalidArgument,
        );
        const [bad] = err.findDetails(BadRequestSchema);
        assert.ok(bad);
        assert.deepEqual(
          bad.violations.map((v) => [v.index, v.field]),
          [
            [1, "timestamp"],
            [2, "customEventName"],
          ],
        );
        assert.ok(bad.violations.every((v) => v.reason.length > 0), "every violation has a reason");
      });

      it("PERMISSION_DENIED for another player's token", async function () {
        await refusedWith(
          () => client.ingestEvents({ userId: alice.userId, gameId: "com.example.mygame", events: events(1) }, auth(bob)),
          Code.PermissionDenied,
        );
      });

      it("UNAUTHENTICATED without a token, with a malformed one and with a garbage Bearer", async function () {
        const body = { userId: alice.userId, gameId: "com.example.mygame", events: events(1) };
        await refusedWith(() => client.ingestEvents(body), Code.Unauthenticated);
        await refusedWith(
          () => client.ingestEvents(body, { headers: { authorization: `Basic ${Buffer.from("a:b").toString("base64")}` } }),
          Code.Unauthenticated,
        );
        await refusedWith(
          () => client.ingestEvents(body, { headers: { authorization: "Bearer eyJhbGciOiJub25lIn0.e30." } }),
          Code.Unauthenticated,
        );
      });
    });
  }

  describe("Connect protocol HTTP statuses and headers (raw fetch)", function () {
    const url = () => `${app.url}/playsmart.ingest.v1.IngestService/IngestEvents`;
    const post = (body: unknown, authorization?: string) =>
      fetch(url(), {
        method: "POST",
        headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) },
        body: JSON.stringify(body),
      });

    it("accepts the proto field names (user_id, custom_event_name) and answers 200", async function () {
      const res = await post(
        {
          user_id: alice.userId,
          game_id: "com.example.mygame",
          events: [{ type: "Custom", custom_event_name: "ChestOpened", timestamp, unknown_field: 1 }],
        },
        `Bearer ${alice.accessToken}`,
      );
      assert.equal(res.status, 200, await res.clone().text());
      const body = (await res.json()) as Record<string, unknown>;
      assert.equal(body.accepted, 1);
      assert.equal(typeof (body.batch_id ?? body.batchId), "string");
    });

    it("answers 401 with WWW-Authenticate: Bearer error=\"invalid_token\" for a garbage token", async function () {
      const res = await post({ user_id: alice.userId, game_id: "com.example.mygame", events: events(1) }, "Bearer junk");
      assert.equal(res.status, 401);
      assert.equal(res.headers.get("www-authenticate"), 'Bearer error="invalid_token"');
      assert.equal(((await res.json()) as { code: string }).code, "unauthenticated");
    });

    it("answers 403 permission_denied for another player's token", async function () {
      const res = await post({ user_id: alice.userId, game_id: "com.example.mygame", events: events(1) }, `Bearer ${bob.accessToken}`);
      assert.equal(res.status, 403);
      assert.equal(((await res.json()) as { code: string }).code, "permission_denied");
    });
  });
});

describe("IngestService over Connect with a small BODY_LIMIT_BYTES", function () {
  let app: TestApp;
  let redis: Redis;
  let key: string;
  let player: TestPlayer;
  const sessions: Http2SessionManager[] = [];

  before(async function () {
    app = await startTestApp({ name: "rpc_ingest_connect_limit", env: { BODY_LIMIT_BYTES: "2048" } });
    redis = new Redis(redisUrl);
    key = streamKey(app.config.streamPrefix, 0);
    player = await registerPlayer(app.url);
  });

  after(async function () {
    for (const s of sessions) s.abort();
    redis?.disconnect();
    await app?.close();
  });

  for (const t of transports) {
    it(`${t.name}: RESOURCE_EXHAUSTED for a body over the limit, nothing queued; a small batch still passes`, async function () {
      const client = createClient(IngestService, t.make(app.url, sessions));
      const headers = { authorization: `Bearer ${player.accessToken}` };
      const before = await redis.xlen(key);
      const err = await connectErrorOf(
        client.ingestEvents(
          {
            userId: player.userId,
            gameId: "com.example.mygame",
            events: [{ type: "AppOpen", timestamp, customdata: { blob: "x".repeat(8 * 1024) } }],
          },
          { headers },
        ),
      );
      assert.equal(err.code, Code.ResourceExhausted, `expected ResourceExhausted, got ${Code[err.code]}: ${err.rawMessage}`);
      assert.equal(await redis.xlen(key), before);
      const ok = await client.ingestEvents(
        { userId: player.userId, gameId: "com.example.mygame", events: events(1) },
        { headers },
      );
      assert.equal(ok.accepted, 1);
      assert.equal(await redis.xlen(key), before + 1);
    });
  }
});
