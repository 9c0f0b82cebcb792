/**
 * Slow clients against a gateway with HTTP_HEADERS_TIMEOUT_MS=500 and
 * HTTP_REQUEST_TIMEOUT_MS=1000: slowloris headers (one byte per 200 ms), bodies
 * that trickle, silent connections, on HTTP/1.1 and on h2c, are cut off by those
 * timeouts, while normal requests on other connections keep being answered fast
 * and nothing half-sent reaches the stream.
 */
import assert from "node:assert/strict";
import http2 from "node:http2";
import net from "node:net";
import { Redis } from "ioredis";
import { streamKey } from "../../src/stream/stream-keys.js";
import { registerPlayer, startTestApp, type TestApp, type TestPlayer } from "../helpers/start-app.js";
import { redisUrl } from "../helpers/test-env.js";

const headersTimeoutMs = 500;
const requestTimeoutMs = 1000;
/** Slack for Node's connection check period (headers timeout / 4) and a loaded machine. */
const slackMs = 700;
const slowSockets = 50;
const tickMs = 200;

/** What happened to one slow connection. */
interface SlowResult {
  closedAfterMs: number | undefined;
  received: string;
  bytesSent: number;
}

/**
 * Connects, writes `prelude` at once, then `trickle` one byte per tick; resolves
 * when the server closes the connection, or after `giveUpMs` (then closedAfterMs
 * is undefined and the socket is destroyed by the test).
 */
function slowConnection(port: number, prelude: Buffer, trickle: Buffer, giveUpMs: number): Promise<SlowResult> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = net.connect(port, "127.0.0.1");
    let received = "";
    let sent = 0;
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearInterval(timer);
      clearTimeout(giveUp);
      resolve({ closedAfterMs: closed ? Date.now() - started : undefined, received, bytesSent: sent });
      socket.destroy();
    };
    const giveUp = setTimeout(() => finish(false), giveUpMs);
    socket.on("connect", () => {
      if (prelude.length > 0) socket.write(prelude);
      timer = setInterval(() => {
        if (sent < trickle.length && !socket.destroyed) socket.write(trickle.subarray(sent, ++sent));
      }, tickMs);
    });
    socket.on("data", (d: Buffer) => (received += d.toString("latin1")));
    socket.on("error", () => {});
    socket.on("close", () => finish(true));
  });
}

describe("fuzz: slow clients are cut off by the timeouts without starving others", function () {
  this.timeout(60_000);
  let app: TestApp;
  let redis: Redis;
  let key: string;
  let alice: TestPlayer;

  before(async () => {
    app = await startTestApp({
      name: "fuzz_slow",
      role: "gateway",
      env: { HTTP_HEADERS_TIMEOUT_MS: String(headersTimeoutMs), HTTP_REQUEST_TIMEOUT_MS: String(requestTimeoutMs), INGEST_RATE_PER_USER: "0" },
    });
    redis = new Redis(redisUrl);
    key = streamKey(app.config.streamPrefix, 0);
    alice = await registerPlayer(app.url);
  });
  after(async () => {
    redis?.disconnect();
    await app?.close();
  });

  const validBody = () => JSON.stringify({ user_id: alice.userId, game_id: "com.example.game", events: [{ type: "AppOpen", timestamp: "2026-01-01T00:00:00Z" }] });

  /**
   * Normal clients while `during` runs: a health check and an accepted batch
   * every 50 ms on fresh connections; returns every latency.
   */
  async function normalTrafficWhile<T>(during: Promise<T>): Promise<{ result: T; latencies: number[]; accepted: number }> {
    const latencies: number[] = [];
    let accepted = 0;
    let running = true;
    const traffic = (async () => {
      while (running) {
        const t0 = performance.now();
        const health = await fetch(`${app.url}/healthz`, { headers: { connection: "close" } });
        assert.equal(health.status, 200);
        await health.arrayBuffer();
        const ingest = await fetch(`${app.url}/ingest/events`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${alice.accessToken}`, connection: "close" },
          body: validBody(),
        });
        assert.equal(ingest.status, 202);
        await ingest.arrayBuffer();
        accepted++;
        latencies.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const result = await during;
    running = false;
    await traffic;
    return { result, latencies, accepted };
  }

  function assertFastTraffic(latencies: number[]): void {
    assert.ok(latencies.length >= 3, `only ${latencies.length} normal rounds completed`);
    const worst = Math.max(...latencies);
    assert.ok(worst < 300, `a normal health check + ingest took ${worst.toFixed(0)} ms while slow clients were connected`);
  }

  it("50 slowloris connections (headers one byte per 200 ms) are closed after the headers timeout", async () => {
    const header = Buffer.from(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ${"a".repeat(60)}\r\n\r\n`);
    const { result, latencies } = await normalTrafficWhile(
      Promise.all(Array.from({ length: slowSockets }, () => slowConnection(app.port, Buffer.alloc(0), header, 5000))),
    );
    for (const r of result) {
      assert.ok(r.closedAfterMs !== undefined, `a slowloris connection was still open after 5 s (${r.bytesSent} bytes sent)`);
      assert.ok(r.closedAfterMs <= headersTimeoutMs + slackMs, `closed only after ${r.closedAfterMs} ms`);
      assert.ok(r.received === "" || r.received.startsWith("HTTP/1.1 408 "), `answered ${JSON.stringify(r.received.slice(0, 40))}`);
    }
    assertFastTraffic(latencies);
  });

  it("50 requests whose body trickles are cut off at the request timeout and queue nothing", async () => {
    const before = await redis.xlen(key);
    const body = Buffer.from(validBody());
    const head = Buffer.from(
      `POST /ingest/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer ${alice.accessToken}\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    const { result, latencies, accepted } = await normalTrafficWhile(
      Promise.all(Array.from({ length: slowSockets }, () => slowConnection(app.port, head, body, 6000))),
    );
    for (const r of result) {
      assert.ok(r.closedAfterMs !== undefined, `a trickling request was still open after 6 s (${r.bytesSent} of ${body.length} body bytes sent)`);
      assert.ok(r.closedAfterMs <= requestTimeoutMs + slackMs, `closed only after ${r.closedAfterMs} ms`);
      assert.ok(r.bytesSent < body.length, "the whole body got through");
      assert.ok(r.received === "" || r.received.startsWith("HTTP/1.1 408 "), `answered ${JSON.stringify(r.received.slice(0, 40))}`);
    }
    assertFastTraffic(latencies);
    assert.equal(await redis.xlen(key), before + accepted, "only the normal clients' batches were queued");
  });

  it("50 connections that never send a byte are closed after the headers timeout", async () => {
    const { result, latencies } = await normalTrafficWhile(
      Promise.all(Array.from({ length: slowSockets }, () => slowConnection(app.port, Buffer.alloc(0), Buffer.alloc(0), 5000))),
    );
    for (const r of result) {
      assert.ok(r.closedAfterMs !== undefined && r.closedAfterMs <= headersTimeoutMs + slackMs, `closed after ${r.closedAfterMs} ms`);
    }
    assertFastTraffic(latencies);
  });

  it("an h2c connection that sends its preface one byte per 200 ms is cut off like slow HTTP/1.1 headers", async () => {
    // Regression test of a fixed bug (src/server/one-port-server.ts, sniff(): `socket.setTimeout(
    // timeouts.headersTimeoutMs, ...)`): socket.setTimeout is an idle timeout, reset
    // by every byte, so a client that sends the 24-byte HTTP/2 preface one byte
    // per 200 ms holds the connection for ~5 s in the sniffer, and then (as an
    // http2 session) for as long as it keeps sending something within
    // HTTP_IDLE_TIMEOUT_MS (65 s). Fix: an absolute deadline in the sniffer
    // (a setTimeout cleared on dispatch) instead of the idle timeout.
    const preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    const { result, latencies } = await normalTrafficWhile(
      Promise.all(Array.from({ length: 10 }, () => slowConnection(app.port, Buffer.alloc(0), preface, 3000))),
    );
    for (const r of result) {
      assert.ok(
        r.closedAfterMs !== undefined && r.closedAfterMs <= headersTimeoutMs + slackMs,
        `an h2c connection trickling its preface was ${r.closedAfterMs === undefined ? "still open after 3 s" : `closed after ${r.closedAfterMs} ms`} (${r.bytesSent} bytes sent)`,
      );
    }
    assertFastTraffic(latencies);
  });

  it("an HTTP/2 request whose body trickles is cut off at the request timeout", async () => {
    // Regression test of a fixed bug (src/server/one-port-server.ts, createOnePortServer): HTTP_HEADERS_TIMEOUT_MS
    // and HTTP_REQUEST_TIMEOUT_MS are given only to the HTTP/1.1 server; the
    // http2 server only has `h2.setTimeout(idleTimeoutMs)`, an idle timeout reset
    // by every frame. An h2c (gRPC) request that sends one body byte per 200 ms
    // stays open indefinitely, holding a stream and its buffered body. Fix: on
    // h2 'stream', start a timer of requestTimeoutMs that answers 408 / resets
    // the stream (NGHTTP2_CANCEL) unless the request ended in time.
    const before = await redis.xlen(key);
    const session = http2.connect(app.url);
    session.on("error", () => {});
    const outcome = await new Promise<{ status: number | undefined; closedAfterMs: number | undefined; sent: number }>((resolve) => {
      const started = Date.now();
      const stream = session.request({ ":method": "POST", ":path": "/ingest/events", "content-type": "application/json", authorization: `Bearer ${alice.accessToken}` });
      stream.on("error", () => {});
      const body = Buffer.from(validBody());
      let sent = 0;
      let status: number | undefined;
      const timer = setInterval(() => {
        if (!stream.destroyed && sent < body.length) stream.write(body.subarray(sent, ++sent));
      }, tickMs);
      stream.on("response", (h) => (status = Number(h[":status"])));
      stream.on("data", () => {});
      const giveUp = setTimeout(() => {
        clearInterval(timer);
        resolve({ status, closedAfterMs: undefined, sent });
      }, 3500);
      stream.on("close", () => {
        clearInterval(timer);
        clearTimeout(giveUp);
        resolve({ status, closedAfterMs: Date.now() - started, sent });
      });
    });
    session.destroy();
    assert.ok(
      outcome.closedAfterMs !== undefined && outcome.closedAfterMs <= requestTimeoutMs + slackMs,
      `an HTTP/2 request trickling its body was ${outcome.closedAfterMs === undefined ? "still open after 3.5 s" : `closed after ${outcome.closedAfterMs} ms`} (${outcome.sent} bytes sent, status ${outcome.status})`,
    );
    assert.ok(outcome.status === undefined || outcome.status === 408, `answered ${outcome.status}`);
    assert.equal(await redis.xlen(key), before);
  });

  it("afterwards the service answers as before", async () => {
    const res = await fetch(`${app.url}/healthz`);
    assert.equal(res.status, 200);
  });
});
