import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { streamKey } from "../../../src/stream/stream-keys.js";
import { registerPlayer, startTestApp, type TestApp, type TestPlayer } from "../../helpers/start-app.js";
import { redisUrl } from "../../helpers/test-env.js";

const ts = "2026-11-26T09:15:00Z";

describe("REST POST /ingest/events", () => {
  let app: TestApp;
  let small: TestApp;
  let redis: Redis;
  let alice: TestPlayer;
  let bob: TestPlayer;
  let key: string;

  before(async () => {
    app = await startTestApp({ name: "rest_ingest" });
    small = await startTestApp({ name: "rest_ingest", env: { BODY_LIMIT_BYTES: "4096" } });
    redis = new Redis(redisUrl);
    alice = await registerPlayer(app.url);
    bob = await registerPlayer(app.url);
    key = streamKey(app.config.streamPrefix, 0);
  });
  after(async () => {
    redis.disconnect();
    await app.close();
    await small.close();
  });

    // null sends no Authorization header at all.
  const post = (body: unknown, token: string | null = alice.accessToken, base = app.url) =>
    fetch(`${base}/ingest/events`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
  const batchOf = (events: unknown[], player: TestPlayer = alice) => ({ user_id: player.userId, game_id: "com.example.mygame", events });

  it("answers 202 for one event and stores exactly one stream entry with the raw batch", async () => {
    const before = await redis.xlen(key);
    const body = batchOf([
      { type: "AppOpen", timestamp: ts },
      { type: "LevelCompleted", timestamp: "2026-11-26T09:20:31.250+01:00", customdata: { level: 12, score: 3400 }, event_id: "client-1" },
      { type: "Custom", customEventName: "ChestOpened", timestamp: "2026-11-26T09:21:00-05:00" },
    ]);
    const res = await post(body);
    assert.equal(res.status, 202);
    const answer = (await res.json()) as { batch_id: string; accepted: number };
    assert.equal(answer.accepted, 3);
    assert.match(answer.batch_id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(await redis.xlen(key), before + 1);
    const [[, fields]] = (await redis.xrevrange(key, "+", "-", "COUNT", 1)) as [[string, string[]]];
    const entry = Object.fromEntries(fields.flatMap((v, i) => (i % 2 === 0 ? [[v, fields[i + 1]]] : [])));
    assert.equal(entry.b, answer.batch_id);
    assert.equal(entry.u, alice.userId);
    assert.equal(entry.g, "com.example.mygame");
    assert.equal(entry.f, "json");
    assert.deepEqual(JSON.parse(entry.d!), body);
    assert.ok(Math.abs(Number(entry.t) - Date.now()) < 10_000);
  });

  it("answers 202 for 200 events", async () => {
    const res = await post(batchOf(Array.from({ length: 200 }, (_, i) => ({ type: "GameEnd", timestamp: ts, event_id: `e${i}` }))));
    assert.equal(res.status, 202);
    assert.equal(((await res.json()) as { accepted: number }).accepted, 200);
  });

  it("answers 400 with every bad event by index and field, and queues nothing", async () => {
    const before = await redis.xlen(key);
    const res = await post(batchOf([
      { type: "AppOpen", timestamp: ts },
      { type: "AppOpen", timestamp: "2026-02-30T10:00:00Z" },
      { type: "Custom", timestamp: ts },
      { type: "AppOpen", timestamp: ts, customdata: "not an object" },
    ]));
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: string; message: string; details: unknown[] };
    assert.equal(body.error, "BAD_REQUEST");
    assert.deepEqual(body.details, [
      { index: 1, field: "timestamp", reason: "day 30 does not exist in 2026-02" },
      { index: 2, field: "customEventName", reason: "is required when type is Custom" },
      { index: 3, field: "customdata", reason: "must be a JSON object, got string" },
    ]);
    assert.equal(await redis.xlen(key), before);
  });

  it("answers 400 for 0 and 201 events, arrays as customdata, and a body that is not JSON", async () => {
    const before = await redis.xlen(key);
    for (const [body, field] of [
      [batchOf([]), "events"],
      [batchOf(Array.from({ length: 201 }, () => ({ type: "AppOpen", timestamp: ts }))), "events"],
      [batchOf([{ type: "AppOpen", timestamp: ts, customdata: [1] }]), "customdata"],
      ["{not json", "body"],
      [batchOf([{ type: "AppOpen", timestamp: 1795668733 }]), "timestamp"],
    ] as const) {
      const res = await post(body);
      assert.equal(res.status, 400, JSON.stringify(body).slice(0, 80));
      const answer = (await res.json()) as { details: Array<{ field: string }> };
      assert.equal(answer.details[0]!.field, field);
    }
    assert.equal(await redis.xlen(key), before);
  });

  it("answers 401 with WWW-Authenticate without a token or with a bad one", async () => {
    const [h, p, sig] = alice.accessToken.split(".") as [string, string, string];
    const flipped = `${h}.${p}.${sig.slice(0, 10)}${sig[10] === "A" ? "B" : "A"}${sig.slice(11)}`;
    for (const token of [null, "garbage", flipped]) {
      const res = await post(batchOf([{ type: "AppOpen", timestamp: ts }]), token);
      assert.equal(res.status, 401);
      assert.equal(res.headers.get("www-authenticate"), 'Bearer error="invalid_token"');
      assert.equal(((await res.json()) as { error: string }).error, "UNAUTHORIZED");
    }
  });

  it("answers 403 when user_id is not the token's user", async () => {
    const before = await redis.xlen(key);
    const res = await post(batchOf([{ type: "AppOpen", timestamp: ts }], bob), alice.accessToken);
    assert.equal(res.status, 403);
    assert.equal(((await res.json()) as { error: string }).error, "FORBIDDEN");
    assert.equal(await redis.xlen(key), before);
  });

  it("answers 413 for a body over the limit, before parsing it, and keeps serving", async () => {
    const before = await redis.xlen(key);
    const big = batchOf([{ type: "AppOpen", timestamp: ts, customdata: { blob: "x".repeat(8000) } }]);
    const res = await post(big, alice.accessToken, small.url);
    assert.equal(res.status, 413);
    assert.equal(((await res.json()) as { error: string }).error, "PAYLOAD_TOO_LARGE");
    const ok = await post(batchOf([{ type: "AppOpen", timestamp: ts }]), alice.accessToken, small.url);
    assert.equal(ok.status, 202);
    assert.equal(await redis.xlen(key), before + 1);
  });

  it("answers 404 and 405 for other paths and methods", async () => {
    assert.equal((await fetch(`${app.url}/nope`)).status, 404);
    const wrongMethod = await fetch(`${app.url}/ingest/events`);
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.get("allow"), "POST");
  });
});
