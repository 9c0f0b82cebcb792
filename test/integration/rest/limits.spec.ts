import assert from "node:assert/strict";
import { Writable } from "node:stream";
import * as grpc from "@grpc/grpc-js";
import { Redis } from "ioredis";
import { createLogger } from "../../../src/logger.js";
import { streamKey } from "../../../src/stream/stream-keys.js";
import { createDynamicClient } from "../../helpers/grpc-client.js";
import { createPrivateRedis } from "../../helpers/private-redis.js";
import { registerPlayer, startTestApp, type TestApp, type TestPlayer } from "../../helpers/start-app.js";
import { redisUrl } from "../../helpers/test-env.js";

const ts = "2026-11-26T09:15:00Z";

function ingest(app: TestApp, player: TestPlayer, events: unknown[] = [{ type: "AppOpen", timestamp: ts }]) {
  return fetch(`${app.url}/ingest/events`, {
    method: "POST",
    headers: { authorization: `Bearer ${player.accessToken}`, "content-type": "application/json" },
    body: JSON.stringify({ user_id: player.userId, game_id: "com.example.mygame", events }),
  });
}

function grpcIngest(app: TestApp, player: TestPlayer): Promise<grpc.ServiceError | undefined> {
  const client = createDynamicClient(app.url, "playsmart/ingest/v1/ingest.proto", "playsmart.ingest.v1.IngestService");
  return client
    .call("IngestEvents", { user_id: player.userId, game_id: "com.example.mygame", events: [{ type: "AppOpen", timestamp: ts }] }, {
      authorization: `Bearer ${player.accessToken}`,
    })
    .then(() => undefined, (err: grpc.ServiceError) => err)
    .finally(() => client.close());
}

describe("back-pressure: the stream bound", () => {
  let app: TestApp;
  let redis: Redis;
  let player: TestPlayer;
  before(async () => {
    app = await startTestApp({ name: "bound", env: { STREAM_MAX_BACKLOG: "5" } });
    redis = new Redis(redisUrl);
    player = await registerPlayer(app.url);
  });
  after(async () => {
    redis.disconnect();
    await app.close();
  });

  it("accepts up to the bound, answers 503 / UNAVAILABLE with Retry-After past it, and admits again once drained", async () => {
    const key = streamKey(app.config.streamPrefix, 0);
    for (let i = 0; i < 5; i++) assert.equal((await ingest(app, player)).status, 202);
    const full = await ingest(app, player);
    assert.equal(full.status, 503);
    assert.equal(full.headers.get("retry-after"), "2");
    assert.deepEqual(await full.json(), { error: "SERVICE_UNAVAILABLE", message: "the event buffer is full, retry later" });
    const err = await grpcIngest(app, player);
    assert.equal(err?.code, grpc.status.UNAVAILABLE);
    assert.equal(err?.metadata.get("retry-after")[0], "2");
    assert.equal(await redis.xlen(key), 5, "the stream never passes its bound");

    // A worker acknowledges and deletes two entries: room for exactly two more.
    const ids = ((await redis.xrange(key, "-", "+", "COUNT", 2)) as Array<[string, string[]]>).map(([id]) => id);
    await redis.xdel(key, ...ids);
    assert.equal((await ingest(app, player)).status, 202);
    assert.equal((await ingest(app, player)).status, 202);
    assert.equal((await ingest(app, player)).status, 503);
    assert.equal(await redis.xlen(key), 5);
  });
});

describe("per-player ingest rate (token bucket in Redis)", () => {
  const env = { INGEST_RATE_PER_USER: "2", INGEST_BURST_PER_USER: "3" };
  let a: TestApp;
  let b: TestApp;
  before(async () => {
    a = await startTestApp({ name: "rate", env });
    b = await startTestApp({ name: "rate", env });
  });
  after(async () => {
    await a.close();
    await b.close();
  });

  it("allows the burst, then answers 429 / RESOURCE_EXHAUSTED with Retry-After, on every gateway, and refills", async () => {
    const alice = await registerPlayer(a.url);
    const bob = await registerPlayer(a.url);
    // The burst is shared by both gateways.
    assert.equal((await ingest(a, alice)).status, 202);
    assert.equal((await ingest(b, alice)).status, 202);
    assert.equal((await ingest(a, alice)).status, 202);
    const limited = await ingest(b, alice);
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get("retry-after"), "1");
    assert.deepEqual(await limited.json(), { error: "TOO_MANY_REQUESTS", message: "too many batches for this player, slow down" });
    const err = await grpcIngest(a, alice);
    assert.equal(err?.code, grpc.status.RESOURCE_EXHAUSTED);
    // Another player has a bucket of its own.
    assert.equal((await ingest(a, bob)).status, 202);
    // Two tokens a second: after 600 ms one more batch fits.
    await new Promise((r) => setTimeout(r, 600));
    assert.equal((await ingest(a, alice)).status, 202);
    assert.equal((await ingest(a, alice)).status, 429);
  });

  it("survives a gateway restart", async () => {
    const carol = await registerPlayer(a.url);
    for (let i = 0; i < 3; i++) assert.equal((await ingest(a, carol)).status, 202);
    await a.close();
    a = await startTestApp({ name: "rate", env });
    assert.equal((await ingest(a, carol)).status, 429);
  });
});

describe("login and register limits against credential stuffing", () => {
  const env = { LOGIN_MAX_FAILURES_PER_EMAIL: "3", REGISTER_MAX_PER_IP: "1000000", LOGIN_MAX_FAILURES_PER_IP: "1000000" };
  let a: TestApp;
  let b: TestApp;
  before(async () => {
    a = await startTestApp({ name: "authlimit", env });
    b = await startTestApp({ name: "authlimit", env });
  });
  after(async () => {
    await a.close();
    await b.close();
  });

  const login = (app: TestApp, email: string, password: string) =>
    fetch(`${app.url}/auth/login`, { method: "POST", body: JSON.stringify({ email, password }) });

  it("answers 429 after N failures for an email, the same whether or not the account exists, across gateways", async () => {
    const player = await registerPlayer(a.url);
    const ghost = `nobody-${Date.now()}@example.com`;
    for (const [i, app] of [a, b, a].entries()) {
      assert.equal((await login(app, player.email, "wrong password")).status, 401, `failure ${i}`);
      assert.equal((await login(app, ghost, "wrong password")).status, 401, `ghost failure ${i}`);
    }
    const real = await login(b, player.email, player.password); // even the right password now
    const fake = await login(b, ghost, "wrong password");
    assert.equal(real.status, 429);
    assert.equal(fake.status, 429);
    assert.deepEqual(await real.json(), await fake.json());
    const retry = Number(real.headers.get("retry-after"));
    assert.ok(retry > 0 && retry <= 900, `Retry-After ${retry}`);
    assert.equal(real.headers.get("cache-control"), "no-store");
  });

  it("resets an email's failures after a correct password", async () => {
    const player = await registerPlayer(a.url);
    for (let i = 0; i < 2; i++) assert.equal((await login(a, player.email, "wrong password")).status, 401);
    assert.equal((await login(a, player.email, player.password)).status, 200);
    for (let i = 0; i < 3; i++) assert.equal((await login(a, player.email, "wrong password")).status, 401);
    assert.equal((await login(a, player.email, "wrong password")).status, 429);
  });

  it("limits registrations per IP", async () => {
    const limited = await startTestApp({ name: "authlimit_reg", env: { REGISTER_MAX_PER_IP: "2" } });
    try {
      const register = (n: number) =>
        fetch(`${limited.url}/auth/register`, { method: "POST", body: JSON.stringify({ email: `r${n}-${Date.now()}@example.com`, password: "long enough pw" }) });
      assert.equal((await register(1)).status, 201);
      assert.equal((await register(2)).status, 201);
      const third = await register(3);
      assert.equal(third.status, 429);
      assert.equal(((await third.json()) as { error: string }).error, "TOO_MANY_REQUESTS");
    } finally {
      await limited.close();
    }
  });
});

describe("Redis memory guard", function () {
  this.timeout(30_000);

  it("warns at start when Redis may evict, and answers 503 instead of 500 when memory is near maxmemory", async () => {
    const redis = await createPrivateRedis(["--maxmemory", "4mb", "--maxmemory-policy", "allkeys-lru"]);
    await redis.start();
    const lines: string[] = [];
    const sink = new Writable({ write: (c: Buffer, _e, done) => (lines.push(c.toString()), done()) });
    const app = await startTestApp({ name: "memguard", env: { REDIS_URL: redis.url, STREAM_MAX_BACKLOG: "0" }, log: createLogger("warn", sink) });
    try {
      assert.ok(lines.some((l) => l.includes("maxmemory-policy is not noeviction")), "eviction warning logged");
      const player = await registerPlayer(app.url);
      const big = Array.from({ length: 50 }, () => ({ type: "AppOpen", timestamp: ts, customdata: { blob: "x".repeat(3000) } }));
      const statuses = new Map<number, number>();
      for (let i = 0; i < 400 && !statuses.has(503); i++) {
        const res = await ingest(app, player, big);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        await res.arrayBuffer();
        if (i % 4 === 3) await new Promise((r) => setTimeout(r, 1100)); // let the guard read INFO
      }
      assert.ok(statuses.has(503), `refused once memory filled up: ${JSON.stringify([...statuses])}`);
      assert.deepEqual([...statuses.keys()].sort(), [202, 503]);
    } finally {
      await app.close();
      await redis.stop();
    }
  });
});
