import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { Redis } from "ioredis";
import { IngestEventsRequestSchema, IngestService } from "../../../gen/playsmart/ingest/v1/ingest_pb.js";
import { streamKey } from "../../../src/stream/stream-keys.js";
import { createDynamicClient } from "../../helpers/grpc-client.js";
import { registerPlayer, startTestApp, type TestApp, type TestPlayer } from "../../helpers/start-app.js";
import { redisUrl } from "../../helpers/test-env.js";

const ts = "2026-11-26T09:15:00Z";

describe("dry runs of POST /ingest/events and IngestEvents", function () {
  this.timeout(20_000);
  let app: TestApp;
  let redis: Redis;
  let alice: TestPlayer;
  let bob: TestPlayer;
  let key: string;

  before(async () => {
    app = await startTestApp({ name: "dry_run" });
    redis = new Redis(redisUrl);
    alice = await registerPlayer(app.url);
    bob = await registerPlayer(app.url);
    key = streamKey(app.config.streamPrefix, 0);
  });
  after(async () => {
    redis.disconnect();
    await app.close();
  });

  const batchOf = (events: unknown[], extra: Record<string, unknown> = {}, player = alice) => ({
    user_id: player.userId,
    game_id: "com.example.mygame",
    events,
    ...extra,
  });
  const post = (body: unknown, query = "", token: string | null = alice.accessToken, base = app.url) =>
    fetch(`${base}/ingest/events${query}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
  const events3 = [
    { type: "AppOpen", timestamp: ts },
    { type: "LevelCompleted", timestamp: "2026-11-26T09:20:31.250+01:00", customdata: { level: 12 } },
    { type: "Custom", customEventName: "ChestOpened", timestamp: ts },
  ];
  const invalid = [
    { type: "AppOpen", timestamp: "yesterday" },
    { type: "Jump", timestamp: ts },
    { type: "Custom", timestamp: ts },
  ];

  it("?dry_run=true answers 200 {accepted, dry_run} and queues nothing", async () => {
    const before = await redis.xlen(key);
    const res = await post(batchOf(events3), "?dry_run=true");
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { accepted: 3, dry_run: true });
    assert.equal(await redis.xlen(key), before);
    // The same batch for real is queued.
    const real = await post(batchOf(events3));
    assert.equal(real.status, 202);
    assert.equal(await redis.xlen(key), before + 1);
  });

  it("the body's dry_run (or dryRun) field does the same; dry_run false and ?dry_run=false are real calls", async () => {
    const before = await redis.xlen(key);
    for (const extra of [{ dry_run: true }, { dryRun: true }]) {
      const res = await post(batchOf(events3, extra));
      assert.equal(res.status, 200, JSON.stringify(extra));
      assert.deepEqual(await res.json(), { accepted: 3, dry_run: true });
    }
    assert.equal(await redis.xlen(key), before);
    assert.equal((await post(batchOf(events3, { dry_run: false }))).status, 202);
    assert.equal((await post(batchOf(events3), "?dry_run=false")).status, 202);
    assert.equal(await redis.xlen(key), before + 2);
  });

  it("gives exactly the 400 a real call gives, every violation listed, and queues nothing", async () => {
    const before = await redis.xlen(key);
    const real = await post(batchOf(invalid));
    const dry = await post(batchOf(invalid), "?dry_run=true");
    const dryField = await post(batchOf(invalid, { dry_run: true }));
    assert.equal(real.status, 400);
    assert.equal(dry.status, 400);
    assert.equal(dryField.status, 400);
    const realBody = (await real.json()) as { details: Array<{ index: number; field: string }> };
    assert.deepEqual(realBody.details.map((d) => [d.index, d.field]), [[0, "timestamp"], [1, "type"], [2, "customEventName"]]);
    assert.deepEqual(await dry.json(), realBody);
    assert.deepEqual(await dryField.json(), realBody);
    assert.equal(await redis.xlen(key), before);
  });

  it("checks auth and ownership first: 401 without a token, 403 for another player's batch", async () => {
    const anonymous = await post(batchOf(events3), "?dry_run=true", null);
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers.get("www-authenticate"), 'Bearer error="invalid_token"');
    const forbidden = await post(batchOf(events3, {}, bob), "?dry_run=true");
    assert.equal(forbidden.status, 403);
    assert.equal(((await forbidden.json()) as { error: string }).error, "FORBIDDEN");
  });

  it("refuses a dry_run that is not a boolean, naming the field", async () => {
    const query = await post(batchOf(events3), "?dry_run=yes");
    assert.equal(query.status, 400);
    assert.deepEqual(await query.json(), {
      error: "BAD_REQUEST",
      message: "dry_run: must be true or false",
      details: [{ index: -1, field: "dry_run", reason: "must be true or false" }],
    });
    const field = await post(batchOf(events3, { dry_run: "true" }));
    assert.equal(field.status, 400);
    assert.deepEqual(((await field.json()) as { details: unknown[] }).details, [{ index: -1, field: "dry_run", reason: "must be true or false" }]);
  });

  it("over gRPC (grpc-js) and Connect (JSON and binary): dry_run answers with an empty batch_id and queues nothing", async () => {
    const before = await redis.xlen(key);
    const client = createDynamicClient(app.url, "playsmart/ingest/v1/ingest.proto", "playsmart.ingest.v1.IngestService");
    try {
      // proto-loader keeps the proto field names.
      const grpcEvents = events3.map(({ customEventName, ...e }) => (customEventName ? { ...e, custom_event_name: customEventName } : e));
      const res = await client.call("IngestEvents", { ...batchOf(grpcEvents), dry_run: true }, { authorization: `Bearer ${alice.accessToken}` });
      assert.deepEqual(res, { batch_id: "", accepted: 3, dry_run: true });
      await assert.rejects(
        client.call("IngestEvents", { ...batchOf(invalid), dry_run: true }, { authorization: `Bearer ${alice.accessToken}` }),
        (err: grpc.ServiceError) => err.code === grpc.status.INVALID_ARGUMENT,
      );
    } finally {
      client.close();
    }
    const headers = { authorization: `Bearer ${alice.accessToken}` };
    const message = create(IngestEventsRequestSchema, {
      userId: alice.userId,
      gameId: "com.example.mygame",
      events: [{ type: "AppOpen", timestamp: ts }],
      dryRun: true,
    });
    for (const useBinaryFormat of [false, true]) {
      const connect = createClient(IngestService, createConnectTransport({ baseUrl: app.url, httpVersion: "1.1", useBinaryFormat }));
      const answer = await connect.ingestEvents(message, { headers });
      assert.deepEqual([answer.batchId, answer.accepted, answer.dryRun], ["", 1, true], `binary ${useBinaryFormat}`);
    }
    // gRPC through connect's own client too (the binary fast path).
    const grpcConnect = createClient(IngestService, createGrpcTransport({ baseUrl: app.url }));
    const answer = await grpcConnect.ingestEvents(message, { headers });
    assert.deepEqual([answer.batchId, answer.accepted, answer.dryRun], ["", 1, true]);
    await assert.rejects(grpcConnect.ingestEvents({ ...message, userId: bob.userId }, { headers }), (err: ConnectError) => err.code === Code.PermissionDenied);
    assert.equal(await redis.xlen(key), before);
  });

  describe("and the per-player rate", () => {
    let limited: TestApp;
    before(async () => {
      limited = await startTestApp({ name: "dry_run", env: { INGEST_RATE_PER_USER: "1", INGEST_BURST_PER_USER: "2" } });
    });
    after(() => limited.close());

    it("spends no token: after many dry runs the full burst of real batches is still accepted", async () => {
      const player = await registerPlayer(limited.url);
      for (let i = 0; i < 10; i++) {
        const res = await post(batchOf(events3, {}, player), "?dry_run=true", player.accessToken, limited.url);
        assert.equal(res.status, 200, `dry run ${i}`);
      }
      assert.equal((await post(batchOf(events3, {}, player), "", player.accessToken, limited.url)).status, 202);
      assert.equal((await post(batchOf(events3, {}, player), "", player.accessToken, limited.url)).status, 202);
      const third = await post(batchOf(events3, {}, player), "", player.accessToken, limited.url);
      assert.equal(third.status, 429);
      // A dry run is still answered while the player is over its rate: it costs Redis nothing.
      assert.equal((await post(batchOf(events3, {}, player), "?dry_run=true", player.accessToken, limited.url)).status, 200);
    });
  });
});
