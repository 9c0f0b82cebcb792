/**
 * The precheck of Connect JSON bodies (rpc-adapter's `jsonPrechecks`, and the
 * ingest precheck built on it). First the adapter alone, with a precheck the
 * test controls: which requests it sees, and that connect still does all the
 * rest. Then the gateway: a prechecked call answers exactly as the same call
 * decoded by connect (a gzip-compressed body, which is never prechecked), and
 * queues the body as it was sent.
 */
import assert from "node:assert/strict";
import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { brotliDecompressSync, gunzipSync, gzipSync } from "node:zlib";
import { Code, ConnectError, createContextKey, createContextValues, type ConnectRouter, type ContextValues } from "@connectrpc/connect";
import { Redis } from "ioredis";
import { IngestService } from "../../../gen/playsmart/ingest/v1/ingest_pb.js";
import { defaultCustomdataLimits } from "../../../src/ingest/customdata-limits.js";
import { checkProtoJsonBatch } from "../../../src/ingest/json-batch-check.js";
import { createRpcAdapter } from "../../../src/server/rpc-adapter.js";
import { rpcJsonOptions } from "../../../src/server/rpc-json-options.js";
import { decodeEntry } from "../../../src/stream/stream-entry.js";
import { streamKey } from "../../../src/stream/stream-keys.js";
import { registerPlayer, startTestApp, type TestApp, type TestPlayer } from "../../helpers/start-app.js";
import { redisUrl } from "../../helpers/test-env.js";

const path = `/${IngestService.typeName}/${IngestService.method.ingestEvents.name}`;

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** One HTTP/1.1 request; `chunks` are written one by one (chunked, no Content-Length) when given. */
function post(url: string, headers: Record<string, string>, body: Buffer | Buffer[], method = "POST"): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const { date: _date, "x-request-id": _id, connection: _c, "keep-alive": _k, ...rest } = res.headers as Record<string, string>;
        const raw = Buffer.concat(chunks);
        const encoding = rest["content-encoding"];
        const text = (encoding === "gzip" ? gunzipSync(raw) : encoding === "br" ? brotliDecompressSync(raw) : raw).toString("utf8");
        resolve({ status: res.statusCode ?? 0, headers: rest, body: text });
      });
    });
    req.on("error", reject);
    if (Array.isArray(body)) {
      for (const c of body) req.write(c);
      req.end();
    } else req.end(body);
  });
}

describe("Connect JSON precheck", () => {
  describe("in the RPC adapter", () => {
    const vouchedKey = createContextKey<string | undefined>(undefined);
    let seen: string[] = [];
    let served: string[] = [];
    let server: http.Server;
    let h2server: http2.Http2Server;
    let url: string;
    let h2url: string;

    // Serves a vouched call from its context value, as the ingest service does.
    const fromValue = (values: ContextValues, via: string) => {
      served.push(via);
      const vouched = values.get(vouchedKey)!;
      if (vouched.includes("deny")) throw new ConnectError("not yours", Code.PermissionDenied, { "x-why": "a test" });
      if (vouched.includes("crash")) throw new Error("secret detail");
      return { batchId: vouched, accepted: 7 };
    };

    before(async () => {
      const adapter = createRpcAdapter({
        routes(router: ConnectRouter) {
          router.service(IngestService, {
            ingestEvents(req, ctx) {
              // Through connect: the precheck's value, or the decoded message.
              if (ctx.values.get(vouchedKey) !== undefined) return fromValue(ctx.values, "connect");
              return { batchId: `decoded:${req.userId}:${req.events.length}`, accepted: 7 };
            },
          });
        },
        fallback: (_req, res) => {
          res.writeHead(404);
          res.end();
        },
        contextValues: () => createContextValues(),
        interceptors: [
          (next) => async (req) => {
            const res = await next(req);
            res.header.set("x-intercepted", req.header.get("x-probe") ?? "-");
            res.trailer.set("x-done", "yes");
            return res;
          },
        ],
        jsonOptions: rpcJsonOptions as never,
        readMaxBytes: 1000,
        compressMinBytes: 40,
        jsonPrechecks: [
          {
            method: IngestService.method.ingestEvents,
            precheck(body, values) {
              const text = body.toString("utf8");
              seen.push(text);
              if (text.includes("throws")) throw new Error("a fault of the check");
              const m = /"user_id":"(vouched[^"]*)"/.exec(text);
              if (!m) return false;
              values.set(vouchedKey, m[1]);
              return true;
            },
          },
        ],
      });
      server = http.createServer(adapter);
      h2server = http2.createServer(adapter as never);
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      await new Promise<void>((resolve) => h2server.listen(0, "127.0.0.1", resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      h2url = `http://127.0.0.1:${(h2server.address() as AddressInfo).port}`;
    });
    after(async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => h2server.close(() => resolve()));
    });
    beforeEach(() => {
      seen = [];
      served = [];
    });

    const json = { "content-type": "application/json" };
    const body = (userId: string, pad = "") => Buffer.from(`{"user_id":"${userId}","game_id":"g${pad}","events":[{"type":"AppOpen"}]}`);
    // A deadline header sends a prechecked call through connect, with an empty message.
    const viaConnect = { "connect-timeout-ms": "5000" };

    it("serves a vouched body through connect with an empty message, as with a deadline: success, errors with metadata, internal, compression", async () => {
      const cases: Array<[string, Record<string, string>]> = [
        ["vouched", { "x-probe": "p-1" }],
        ["vouched-deny", {}],
        ["vouched-crash", {}],
        ["vouched-long-enough-to-compress", { "accept-encoding": "gzip" }],
        ["vouched", { "accept-encoding": "br;q=1, gzip;q=0.5" }],
        ["vouched-deny", { "accept-encoding": "gzip" }],
      ];
      for (const [who, headers] of cases) {
        served = [];
        const plain = await post(url, { ...json, ...headers }, body(who));
        const connect = await post(url, { ...json, ...headers, ...viaConnect }, body(who));
        assert.deepEqual(served, ["connect", "connect"], who);
        assert.deepEqual(plain, connect, `${who} ${JSON.stringify(headers)}`);
      }
      const ok = await post(url, { ...json, "x-probe": "p-2" }, body("vouched"));
      assert.equal(ok.status, 200);
      assert.deepEqual(JSON.parse(ok.body), { batch_id: "vouched", accepted: 7 });
      assert.equal(ok.headers["x-intercepted"], "p-2");
      assert.equal(ok.headers["trailer-x-done"], "yes");
      const denied = await post(url, json, body("vouched-deny"));
      assert.equal(denied.status, 403);
      assert.equal(denied.headers["x-why"], "a test");
      assert.deepEqual(JSON.parse(denied.body), { code: "permission_denied", message: "not yours" });
      const crashed = await post(url, json, body("vouched-crash"));
      assert.equal(crashed.status, 500);
      assert.doesNotMatch(crashed.body, /secret/);
      const gz = await post(url, { ...json, "accept-encoding": "gzip" }, body("vouched-long-enough-to-compress"));
      assert.equal(gz.headers["content-encoding"], "gzip");
      assert.equal(seen.length, 6 * 2 + 4);
    });

    it("hands a vouched call to connect, with an empty message, where connect must judge it: a deadline, another content type", async () => {
      const timed = await post(url, { ...json, ...viaConnect }, body("vouched"));
      assert.deepEqual(JSON.parse(timed.body), { batch_id: "vouched", accepted: 7 });
      const charset = await post(url, { "content-type": "application/json; charset=utf-8" }, body("vouched"));
      assert.deepEqual(JSON.parse(charset.body), { batch_id: "vouched", accepted: 7 });
      // A content type connect does not read as unary JSON: its own answer.
      const odd = await post(url, { "content-type": "application/json; charset=latin1" }, body("vouched"));
      assert.equal(odd.status, 415);
      assert.deepEqual(served, ["connect", "connect"]);
      assert.equal(seen.length, 3);
    });

    it("lets connect decode a body the precheck is not sure of, or fails on", async () => {
      for (const who of ["someone", "throws"]) {
        const answer = await post(url, json, body(who));
        assert.equal(answer.status, 200, answer.body);
        assert.deepEqual(JSON.parse(answer.body), { batch_id: `decoded:${who}:1`, accepted: 7 });
      }
      assert.equal(seen.length, 2);
    });

    it("never prechecks a compressed body, a binary one, or one over readMaxBytes (declared or sent)", async () => {
      const gz = await post(url, { ...json, "content-encoding": "gzip" }, gzipSync(body("vouched")));
      assert.deepEqual(JSON.parse(gz.body), { batch_id: "decoded:vouched:1", accepted: 7 });
      const binary = await post(url, { "content-type": "application/proto" }, Buffer.alloc(0));
      assert.equal(binary.status, 200, binary.body);
      const large = body("vouched", "x".repeat(1000));
      const declared = await post(url, json, large);
      assert.equal(declared.status, 429, declared.body);
      assert.equal(JSON.parse(declared.body).code, "resource_exhausted");
      // Chunked: read up to the limit, then handed to connect, which refuses it as always.
      const streamed = await post(url, json, [large.subarray(0, 600), large.subarray(600)]);
      assert.equal(streamed.status, 429, streamed.body);
      assert.equal(JSON.parse(streamed.body).code, "resource_exhausted");
      assert.deepEqual(seen, []);
    });

    it("answers a GET as connect does (405 for a method with side effects)", async () => {
      const answer = await post(url, json, Buffer.alloc(0), "GET");
      assert.equal(answer.status, 405);
      assert.deepEqual(seen, []);
    });

    it("prechecks and serves over HTTP/2 too", async () => {
      const session = http2.connect(h2url);
      try {
        const answer = await new Promise<string>((resolve, reject) => {
          const stream = session.request({ ":method": "POST", ":path": path, ...json });
          const chunks: Buffer[] = [];
          stream.on("data", (c: Buffer) => chunks.push(c));
          stream.on("end", () => resolve(Buffer.concat(chunks).toString()));
          stream.on("error", reject);
          stream.end(body("vouched"));
        });
        assert.deepEqual(JSON.parse(answer), { batch_id: "vouched", accepted: 7 });
        assert.deepEqual(served, ["connect"]);
      } finally {
        session.close();
      }
    });
  });

  describe("in the gateway", () => {
    let app: TestApp;
    let redis: Redis;
    let key: string;
    let alice: TestPlayer;
    let bob: TestPlayer;

    before(async () => {
      app = await startTestApp({ name: "connect_json_precheck", role: "gateway", env: { INGEST_RATE_PER_USER: "0" } });
      redis = new Redis(redisUrl);
      key = streamKey(app.config.streamPrefix, 0);
      [alice, bob] = await Promise.all([registerPlayer(app.url), registerPlayer(app.url)]);
    });
    after(async () => {
      redis?.disconnect();
      await app?.close();
    });

    const batch = (userId: string) =>
      Buffer.from(
        JSON.stringify({
          userId,
          gameId: "com.example.game",
          events: [
            { type: "LevelCompleted", timestamp: "2026-11-26T09:20:31.250+01:00", eventId: "e-1", customdata: { level: 3, tags: ["a", null, true], nested: { x: 1.5 } } },
            { type: "Custom", timestamp: "2026-11-26T09:20:32Z", customEventName: "ChestOpened" },
          ],
        }),
      );
    const headers = (p: TestPlayer | undefined, extra: Record<string, string> = {}) => ({
      "content-type": "application/json",
      ...(p ? { authorization: `Bearer ${p.accessToken}` } : {}),
      ...extra,
    });
    // Batch ids differ from call to call, as their length does not.
    const comparable = (a: Answer) => ({ ...a, body: a.body.replace(/"batch_id":"[^"]+"/, '"batch_id":"…"') });

    it("answers as connect's own decoding does: accepted, another player's, unauthenticated, a garbage token", async () => {
      // The body is one the gateway's precheck vouches for (else both calls would be decoded).
      assert.deepEqual(checkProtoJsonBatch(batch(alice.userId), defaultCustomdataLimits), { userId: alice.userId, gameId: "com.example.game", eventCount: 2 });
      const cases: Array<[string, Buffer, Record<string, string>, number]> = [
        ["accepted", batch(alice.userId), headers(alice), 200],
        ["another player's", batch(alice.userId), headers(bob), 403],
        ["unauthenticated", batch(alice.userId), headers(undefined), 401],
        ["a garbage token", batch(alice.userId), headers(undefined, { authorization: "Bearer nope" }), 401],
      ];
      for (const [what, body, h, status] of cases) {
        const before = await redis.xlen(key);
        const prechecked = await post(app.url, h, body);
        // Through connect with an empty message (a deadline), and decoded by connect (compressed).
        const viaConnect = await post(app.url, { ...h, "connect-timeout-ms": "10000" }, body);
        const decoded = await post(app.url, { ...h, "content-encoding": "gzip" }, gzipSync(body));
        assert.equal(prechecked.status, status, `${what}: ${prechecked.body}`);
        assert.deepEqual(comparable(prechecked), comparable(viaConnect), what);
        assert.deepEqual(comparable(prechecked), comparable(decoded), what);
        assert.equal(await redis.xlen(key), before + (status === 200 ? 3 : 0), `${what}: entries queued`);
      }
    });

    it("queues a prechecked body as it was sent, in the JSON format", async () => {
      const body = batch(alice.userId);
      const answer = await post(app.url, headers(alice), body);
      assert.equal(answer.status, 200, answer.body);
      const { batch_id: batchId, accepted } = JSON.parse(answer.body) as { batch_id: string; accepted: number };
      assert.equal(accepted, 2);
      const [[, fields]] = (await redis.xrevrangeBuffer(key, "+", "-", "COUNT", 1)) as [[Buffer, Buffer[]]];
      const entry = decodeEntry(fields);
      assert.equal(entry.batchId, batchId);
      assert.equal(entry.format, "json");
      assert.equal(entry.userId, alice.userId);
      assert.deepEqual(Buffer.from(entry.body), body);
    });

    it("a key repeated in customdata, which protobuf-es refuses: invalid_argument naming no value, nothing queued", async () => {
      const body = Buffer.from(
        `{"user_id":"${alice.userId}","game_id":"com.example.game","events":[{"type":"AppOpen","timestamp":"2026-11-26T09:20:32Z","customdata":{"pin":"1234","pin":"5678"}}]}`,
      );
      const before = await redis.xlen(key);
      const answer = await post(app.url, headers(alice), body);
      assert.equal(answer.status, 400, answer.body);
      const error = JSON.parse(answer.body) as { code: string; message: string };
      assert.equal(error.code, "invalid_argument");
      assert.doesNotMatch(error.message, /1234|5678/);
      assert.equal(await redis.xlen(key), before);
    });
  });
});
