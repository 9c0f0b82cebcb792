/**
 * A gateway whose Redis does not answer: ingestion is refused fast with a
 * retryable answer (REST 503 + Retry-After, gRPC/Connect UNAVAILABLE), never
 * accepted and never hung. Accounts live in MySQL, so a healthy app with the same
 * `name` (same database, same JWT key) registers the player whose token the dead
 * app verifies.
 */
import assert from "node:assert/strict";
import { fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { RetryInfoSchema } from "../../../gen/playsmart/common/v1/errors_pb.js";
import { IngestService } from "../../../gen/playsmart/ingest/v1/ingest_pb.js";
import { freePort } from "../../helpers/free-port.js";
import { createDynamicClient, grpc, grpcErrorOf, statusDetailsOf, type DynamicClient } from "../../helpers/grpc-client.js";
import { registerPlayer, startTestApp, type TestApp, type TestPlayer } from "../../helpers/start-app.js";

const name = "rpc_redis_down";

const event = { type: "AppOpen", timestamp: "2026-11-26T09:15:00Z" };

describe("ingest with Redis down", function () {
  let healthy: TestApp;
  let dead: TestApp;
  let player: TestPlayer;
  let grpcClient: DynamicClient;

  before(async function () {
    healthy = await startTestApp({ name });
    player = await registerPlayer(healthy.url);
    dead = await startTestApp({ name, env: { // A port bound and released again: nobody listens on it.
      REDIS_URL: `redis://127.0.0.1:${await freePort()}` } });
    grpcClient = createDynamicClient(dead.url, "playsmart/ingest/v1/ingest.proto", "playsmart.ingest.v1.IngestService");
  });

  after(async function () {
    grpcClient?.close();
    await Promise.all([dead?.close(), healthy?.close()]);
  });

  const restIngest = (app: TestApp, body: unknown) =>
    fetch(`${app.url}/ingest/events`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${player.accessToken}` },
      body: JSON.stringify(body),
    });

  it("the same player token ingests on the healthy app (control)", async function () {
    const res = await restIngest(healthy, { user_id: player.userId, game_id: "com.example.mygame", events: [event] });
    assert.equal(res.status, 202);
  });

  it("REST answers 503 SERVICE_UNAVAILABLE with Retry-After, within 1 s, every time", async function () {
    for (let i = 0; i < 5; i++) {
      const t0 = Date.now();
      const res = await restIngest(dead, { user_id: player.userId, game_id: "com.example.mygame", events: [event] });
      const ms = Date.now() - t0;
      const text = await res.text();
      assert.equal(res.status, 503, `attempt ${i}: expected 503, got ${res.status} ${text}`);
      assert.ok(ms < 1000, `attempt ${i}: answered after ${ms} ms`);
      const retryAfter = res.headers.get("retry-after");
      assert.ok(retryAfter !== null && /^\d+$/.test(retryAfter) && Number(retryAfter) >= 1, `Retry-After: ${retryAfter}`);
      const body = JSON.parse(text) as { error: string; message: string };
      assert.equal(body.error, "SERVICE_UNAVAILABLE");
      assert.equal(typeof body.message, "string");
      assert.ok(body.message.length > 0);
    }
  });

  it("REST still answers 400 for an invalid batch and 401 without a token (checks come before Redis)", async function () {
    const bad = await restIngest(dead, { user_id: player.userId, game_id: "com.example.mygame", events: [] });
    assert.equal(bad.status, 400);
    const anon = await fetch(`${dead.url}/ingest/events`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ user_id: player.userId, game_id: "com.example.mygame", events: [event] }),
    });
    assert.equal(anon.status, 401);
  });

  it("gRPC (grpc-js) answers UNAVAILABLE with a RetryInfo detail, within 1 s, every time", async function () {
    for (let i = 0; i < 5; i++) {
      const t0 = Date.now();
      const err = await grpcErrorOf(
        grpcClient.call(
          "IngestEvents",
          { user_id: player.userId, game_id: "com.example.mygame", events: [event] },
          { authorization: `Bearer ${player.accessToken}`, timeoutMs: 3000 },
        ),
      );
      const ms = Date.now() - t0;
      assert.equal(err.code, grpc.status.UNAVAILABLE, `attempt ${i}: got ${grpc.status[err.code]}: ${err.details}`);
      assert.ok(ms < 1000, `attempt ${i}: answered after ${ms} ms`);
      // grpc-message percent-encoded as the gRPC spec says, so grpc-js shows it as written.
      assert.equal(err.details, "the event buffer is unavailable, retry later");
      assert.equal(err.metadata.get("retry-after")[0], "1");
      const retry = statusDetailsOf(err).details.find((d) => d.typeUrl === "type.googleapis.com/playsmart.common.v1.RetryInfo");
      assert.ok(retry, "a RetryInfo detail");
      assert.ok(fromBinary(RetryInfoSchema, retry.value).retryAfterSeconds >= 1);
    }
  });

  it("Connect answers Unavailable within 1 s", async function () {
    const client = createClient(IngestService, createConnectTransport({ baseUrl: dead.url, httpVersion: "1.1" }));
    const t0 = Date.now();
    const err = await client
      .ingestEvents(
        { userId: player.userId, gameId: "com.example.mygame", events: [event] },
        { headers: { authorization: `Bearer ${player.accessToken}` } },
      )
      .then(
        (res) => assert.fail(`accepted with Redis down: ${JSON.stringify(res)}`),
        (e: unknown) => ConnectError.from(e),
      );
    assert.ok(Date.now() - t0 < 1000);
    assert.equal(err.code, Code.Unavailable);
    assert.ok(err.findDetails(RetryInfoSchema)[0]!.retryAfterSeconds >= 1);
  });

  it("/healthz stays 200 and /readyz answers 503 on the Redis-less gateway", async function () {
    const [health, ready, readyOk] = await Promise.all([
      fetch(`${dead.url}/healthz`),
      fetch(`${dead.url}/readyz`),
      fetch(`${healthy.url}/readyz`),
    ]);
    assert.equal(health.status, 200);
    assert.equal(ready.status, 503);
    assert.equal(readyOk.status, 200);
  });
});
